package ai.emaspark.auth;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Random;

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
        try (Socket socket = connect(port)) {
            socket.setSoTimeout(readTimeoutMs);
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
            return readUntilClosed(socket.getInputStream());
        }
    }

    /** Random bytes of the given length. */
    public static byte[] garbage(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** Trickles one byte every {@code intervalMs}; returns how long the port let it do so before closing. */
    public static long slowLoris(int port, long intervalMs, long giveUpMs) throws IOException, InterruptedException {
        long start = System.nanoTime();
        try (Socket socket = connect(port)) {
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
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(ELSEWHERE, 0));
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
        } catch (SocketTimeoutException | java.net.SocketException ended) {
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

    private static InetAddress address(String host) {
        try {
            return InetAddress.getByName(host);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
