package ai.emaspark.auth;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What someone else on the network does to a port of ours, for tests: garbage, a slow trickle,
 * replayed bytes, a recording proxy in the middle. Strangers connect from 127.0.0.2, another host
 * as far as the per-host limits go.
 */
public final class Strangers {
    public static final InetAddress ELSEWHERE = address("127.0.0.2");

    private Strangers() {}

    /** Connects from {@link #ELSEWHERE}, sends {@code bytes}, returns what the port answered until it closed. */
    public static byte[] send(int port, byte[] bytes, int readTimeoutMs) throws IOException {
        return send(ELSEWHERE, port, bytes, readTimeoutMs);
    }

    /**
     * Connects from {@code from}, sends {@code bytes}, returns what the port answered until it closed.
     * A port that hangs up before taking all the bytes (a broken pipe, a reset) has answered too.
     */
    public static byte[] send(InetAddress from, int port, byte[] bytes, int readTimeoutMs) throws IOException {
        try (Socket socket = connect(from, port)) {
            socket.setSoTimeout(readTimeoutMs);
            try {
                socket.getOutputStream().write(bytes);
                socket.getOutputStream().flush();
            } catch (SocketException hungUp) {
                // read whatever it said before hanging up
            }
            return readUntilClosed(socket.getInputStream());
        }
    }

    /** 127.0.0.{@code n}: another host still, so that strangers in one test do not crowd each other out. */
    public static InetAddress host(int n) {
        return address("127.0.0." + n);
    }

    /** Random bytes of the given length. */
    public static byte[] garbage(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** Trickles one byte every {@code intervalMs}; returns how long the port let it do so before closing. */
    public static long slowLoris(int port, long intervalMs, long giveUpMs) throws IOException, InterruptedException {
        return slowLoris(ELSEWHERE, port, intervalMs, giveUpMs);
    }

    /** {@link #slowLoris(int, long, long)} from {@code from}. */
    public static long slowLoris(InetAddress from, int port, long intervalMs, long giveUpMs)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        try (Socket socket = connect(from, port)) {
            socket.setSoTimeout(1);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            while ((System.nanoTime() - start) / 1_000_000 < giveUpMs) {
                try {
                    out.write(7);
                    out.flush();
                } catch (IOException closed) {
                    break;
                }
                try {
                    while (in.read() >= 0) {
                        // the hello: keep reading
                    }
                    break; // end of stream: the port closed the connection
                } catch (SocketTimeoutException nothingYet) {
                    Thread.sleep(intervalMs);
                } catch (IOException reset) {
                    break;
                }
            }
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    public static Socket connect(int port) throws IOException {
        return connect(ELSEWHERE, port);
    }

    public static Socket connect(InetAddress from, int port) throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(from, 0));
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        return socket;
    }

    static byte[] readUntilClosed(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
            }
        } catch (SocketTimeoutException | SocketException ended) {
            // what arrived is what there is
        }
        return out.toByteArray();
    }

    /**
     * A man in the middle that passes traffic through and records what the client sent, for replay.
     * Serves one connection.
     */
    public static final class RecordingProxy implements AutoCloseable {
        private final ServerSocket server;
        private final ByteArrayOutputStream fromClient = new ByteArrayOutputStream();
        private final Thread thread;

        public RecordingProxy(int targetPort) throws IOException {
            server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            thread = new Thread(() -> {
                try (Socket client = server.accept(); Socket target = new Socket("127.0.0.1", targetPort)) {
                    Thread back = new Thread(() -> pipe(target, client, null));
                    back.start();
                    pipe(client, target, fromClient);
                    back.join();
                } catch (IOException | InterruptedException ignored) {
                    // the test sees what arrived
                }
            }, "recording-proxy");
            thread.start();
        }

        public int port() {
            return server.getLocalPort();
        }

        /** Everything the client sent, once its connection ended. */
        public synchronized byte[] recorded() throws InterruptedException {
            thread.join(10_000);
            return fromClient.toByteArray();
        }

        private static void pipe(Socket from, Socket to, ByteArrayOutputStream record) {
            byte[] buffer = new byte[1 << 16];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    if (record != null) {
                        synchronized (record) {
                            record.write(buffer, 0, n);
                        }
                    }
                    out.write(buffer, 0, n);
                }
                to.shutdownOutput();
            } catch (IOException ended) {
                // one side closed
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /**
     * Connections from one address that send nothing and hold a slot until the port drops them (after
     * its stranger timeout); when {@code refill}, each is opened again as soon as it is dropped. All are
     * connected when the constructor returns, so a port accepts them before anyone who connects later.
     */
    public static final class Stallers implements AutoCloseable {
        /** How an emaspark hello starts ("EMSA"): a connection that got one holds a slot. */
        private static final int HELLO_MAGIC = 0x454d5341;

        private final InetAddress from;
        private final int port;
        private final boolean refill;
        private final List<Thread> threads = new ArrayList<>();
        private final Set<Socket> open = ConcurrentHashMap.newKeySet();
        private final AtomicInteger opened = new AtomicInteger();
        private final AtomicInteger held = new AtomicInteger();
        private volatile boolean closed;

        public Stallers(InetAddress from, int port, int count, boolean refill) throws IOException {
            this.from = from;
            this.port = port;
            this.refill = refill;
            for (int i = 0; i < count; i++) {
                Socket first = connect(from, port);
                opened.incrementAndGet();
                Thread t = new Thread(() -> stall(first), "staller-" + from.getHostAddress());
                t.setDaemon(true);
                t.start();
                threads.add(t);
            }
        }

        /** Connections opened so far, the first ones and the refills. */
        public int opened() {
            return opened.get();
        }

        /** Connections that got a hello (not a refusal) and are still open. */
        public int held() {
            return held.get();
        }

        private void stall(Socket socket) {
            while (socket != null) {
                open.add(socket);
                if (closed) {
                    closeQuietly(socket);
                }
                holdUntilDropped(socket);
                open.remove(socket);
                socket = refill ? reopen() : null;
            }
        }

        private void holdUntilDropped(Socket socket) {
            boolean hello = false;
            try (socket) {
                byte[] start = new byte[4];
                int n = socket.getInputStream().readNBytes(start, 0, 4);
                hello = n == 4 && ByteBuffer.wrap(start).getInt() == HELLO_MAGIC;
                if (hello) {
                    held.incrementAndGet();
                }
                readUntilClosed(socket.getInputStream());
            } catch (IOException dropped) {
                // a reset: dropped too
            } finally {
                if (hello) {
                    held.decrementAndGet();
                }
            }
        }

        /** A new stalled connection once the port dropped one (a short pause, not to spin on refusals). */
        private Socket reopen() {
            while (!closed) {
                sleep(20);
                try {
                    Socket socket = connect(from, port);
                    opened.incrementAndGet();
                    return socket;
                } catch (IOException refused) {
                    // the port is closed for now: again
                }
            }
            return null;
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            for (Socket socket : open) {
                closeQuietly(socket);
            }
            for (Thread t : threads) {
                t.join(5000);
            }
        }

        private static void closeQuietly(Socket socket) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }

        private static void sleep(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static InetAddress address(String host) {
        try {
            return InetAddress.getByName(host);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
