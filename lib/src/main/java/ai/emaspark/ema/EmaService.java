package ai.emaspark.ema;

import ai.emaspark.auth.AuthException;
import ai.emaspark.auth.Handshake;
import ai.emaspark.auth.HandshakeDeadline;
import ai.emaspark.auth.RefusalLog;
import ai.emaspark.auth.RunSecret;
import ai.emaspark.model.ModelState;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's EMAs: a TCP service that takes rank 0's weight snapshots while training runs and
 * applies them to every EMA of an {@link EmaBank} (pycls's, and the power EMAs). Only the attempt
 * the driver launched is served: its updates are
 * staged on a copy of the epoch's starting EMA and kept only if the driver saw the attempt succeed,
 * so a failed or retried barrier stage never leaves its updates behind.
 *
 * <p>On a shared network anyone may reach this port. A connection must first prove it knows the
 * run's secret for the current attempt ({@link Handshake}), within {@link #HANDSHAKE_TIMEOUT}; every
 * frame carries a MAC; a header's sizes must be the model's before anything is allocated. At most
 * {@link #MAX_PENDING} connections may be authenticating at once, {@link #MAX_PENDING_PER_HOST} of
 * them from one address (so one host cannot crowd out rank 0), and {@link #MAX_SERVED} authenticated
 * ones; a frame that stalls is dropped after {@link #FRAME_TIMEOUT}. Strangers are refused and logged;
 * training does not notice them.
 */
public final class EmaService implements AutoCloseable {
    static final int MAX_PENDING = 16;
    static final int MAX_PENDING_PER_HOST = 2;
    static final int MAX_SERVED = 4;
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    static final Duration FRAME_TIMEOUT = Duration.ofSeconds(60);
    /** Between snapshots an authenticated rank 0 may be quiet this long (EMA_UPDATE_PERIOD iterations). */
    static final Duration IDLE_TIMEOUT = Duration.ofMinutes(30);
    private static final Logger LOG = LoggerFactory.getLogger(EmaService.class);

    private final ServerSocket server;
    private final RunSecret secret;
    private final Path dumpDir;
    private final Thread acceptor;
    private final Duration handshakeTimeout;
    private final Map<InetAddress, Integer> pendingByHost = new HashMap<>();
    private int pending;
    private final AtomicInteger served = new AtomicInteger();
    private final RefusalLog refusals = new RefusalLog(LOG, "EMA service");
    private final boolean encrypt;
    private int epoch = -1;
    private int attempt = -1;
    private EmaBank epochStart;
    private double epochAlpha;
    private EmaBank staged;
    private int updates;

    /**
     * @param bindHost the address to listen on (the driver's bind address; 0.0.0.0 for all)
     * @param port the port to listen on, 0 for any free one
     * @param secret the run's secret, which senders must prove they know
     * @param encrypt whether the run encrypts: bound into the handshake, so senders must say the same;
     *     snapshots come sealed with AES-GCM either way
     * @param dumpDir if not null, every accepted snapshot is also written there (for tests)
     */
    public EmaService(String bindHost, int port, RunSecret secret, boolean encrypt, Path dumpDir) throws IOException {
        this(bindHost, port, secret, encrypt, dumpDir, HANDSHAKE_TIMEOUT);
    }

    EmaService(String bindHost, int port, RunSecret secret, boolean encrypt, Path dumpDir, Duration handshakeTimeout)
            throws IOException {
        this.server = new ServerSocket(port, 16, InetAddress.getByName(bindHost));
        this.secret = secret;
        this.encrypt = encrypt;
        this.handshakeTimeout = handshakeTimeout;
        this.dumpDir = dumpDir;
        this.acceptor = new Thread(this::acceptLoop, "ema-service");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Starts staging for {@code epoch}: every attempt starts from {@code emaStart}, pycls's EMA updated with {@code alpha}. */
    public synchronized void beginEpoch(int epoch, EmaBank emaStart, double alpha) {
        this.epoch = epoch;
        this.epochStart = emaStart.copy();
        this.epochAlpha = alpha;
        this.attempt = -1;
        this.staged = null;
    }

    /** From now on only {@code attempt} of the current epoch is served, from the epoch's starting EMA. */
    public synchronized void beginAttempt(int attempt) {
        this.attempt = attempt;
        this.staged = null;
        this.updates = 0;
    }

    /**
     * The EMAs after {@code attempt}'s updates; fails unless exactly {@code expectedUpdates} arrived.
     * With no update expected (EMA_UPDATE_PERIOD 0), the EMAs are unchanged.
     */
    public synchronized EmaBank finishEpoch(int epoch, int attempt, int expectedUpdates) {
        if (epoch != this.epoch || attempt != this.attempt) {
            throw new IllegalStateException("EMA service is staging epoch " + (this.epoch + 1) + " attempt " + this.attempt
                    + ", not epoch " + (epoch + 1) + " attempt " + attempt);
        }
        if (updates != expectedUpdates) {
            throw new IllegalStateException("epoch " + (epoch + 1) + " attempt " + attempt + ": EMA service received "
                    + updates + " weight snapshots, rank 0 sent " + expectedUpdates);
        }
        EmaBank ema = staged == null ? epochStart.copy() : staged;
        this.attempt = -1;
        this.staged = null;
        return ema;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                if (server.isClosed()) {
                    return;
                }
                // e.g. too many open files: keep serving once it passes
                LOG.warn("EMA service: accept failed ({}); retrying", e.toString());
                pause(100);
                continue;
            }
            String full = admit(socket.getInetAddress());
            if (full != null) {
                refusals.refuse(socket.getRemoteSocketAddress(), full);
                closeQuietly(socket);
                continue;
            }
            Thread reader = new Thread(() -> serve(socket), "ema-service-connection");
            reader.setDaemon(true);
            reader.start();
        }
    }

    /** Counts a new connection as authenticating; returns why it is not admitted, or null. */
    private synchronized String admit(InetAddress host) {
        if (pending >= MAX_PENDING) {
            return "already " + MAX_PENDING + " connections authenticating";
        }
        int fromHost = pendingByHost.getOrDefault(host, 0);
        if (fromHost >= MAX_PENDING_PER_HOST) {
            return "already " + MAX_PENDING_PER_HOST + " connections authenticating from " + host.getHostAddress();
        }
        pending++;
        pendingByHost.put(host, fromHost + 1);
        return null;
    }

    private synchronized void authenticated(InetAddress host) {
        pending--;
        pendingByHost.computeIfPresent(host, (h, n) -> n == 1 ? null : n - 1);
    }

    private void serve(Socket socket) {
        Object peer = socket.getRemoteSocketAddress();
        InetAddress host = socket.getInetAddress();
        boolean counted = false;
        try (socket;
                DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()))) {
            socket.setSoTimeout((int) handshakeTimeout.toMillis());
            socket.setTcpNoDelay(true); // a refusal or an acknowledgement goes out at once, not behind unacknowledged bytes
            int[] attemptServed = currentAttempt();
            Handshake.Server handshake = Handshake.server(secret, SnapshotWire.context(attemptServed[0], attemptServed[1], encrypt));
            HandshakeDeadline deadline = HandshakeDeadline.of(socket, handshakeTimeout);
            try (deadline) {
                SnapshotWire.serverHandshake(in, out, handshake);
            } catch (IOException e) {
                refusals.refuse(peer, deadline.expired() ? "it did not authenticate within " + handshakeTimeout.toSeconds() + " s"
                        : reason(e));
                return;
            } finally {
                authenticated(host);
            }
            if (served.incrementAndGet() > MAX_SERVED) {
                served.decrementAndGet();
                refusals.refuse(peer, "already " + MAX_SERVED + " authenticated connections");
                return;
            }
            counted = true;
            Handshake.Session session = handshake.session();
            float[] floats = null;
            long[] longs = null;
            while (true) {
                socket.setSoTimeout((int) IDLE_TIMEOUT.toMillis());
                int first = in.read();
                if (first < 0) {
                    return;
                }
                socket.setSoTimeout((int) FRAME_TIMEOUT.toMillis());
                SnapshotWire.Header header = SnapshotWire.readHeader(first, in, session.receive());
                String refused = check(header, attemptServed);
                if (refused != null) {
                    SnapshotWire.writeAck(out, -1, session.send());
                    LOG.warn("EMA service: refused a snapshot from {}: {}", peer, refused);
                    return;
                }
                if (floats == null) {
                    floats = new float[header.floatCount()];
                    longs = new long[header.longCount()];
                }
                SnapshotWire.readPayload(in, floats, longs, session);
                SnapshotWire.writeAck(out, apply(header, floats, longs), session.send());
            }
        } catch (AuthException e) {
            LOG.warn("EMA service: dropped the connection from {}: {}", peer, e.getMessage());
        } catch (IOException e) {
            LOG.warn("EMA service: a snapshot connection from {} failed: {}", peer, reason(e));
        } finally {
            if (counted) {
                served.decrementAndGet();
            }
        }
    }

    private synchronized int[] currentAttempt() {
        return new int[] {epoch, attempt};
    }

    /** Why a snapshot header is not accepted, or null. Checked before anything is allocated for it. */
    private synchronized String check(SnapshotWire.Header header, int[] served) {
        if (header.epoch() != served[0] || header.attempt() != served[1]) {
            return "it is for epoch " + (header.epoch() + 1) + " attempt " + header.attempt() + ", the connection for epoch "
                    + (served[0] + 1) + " attempt " + served[1];
        }
        if (header.epoch() != epoch || header.attempt() != attempt || epochStart == null) {
            return "epoch " + (header.epoch() + 1) + " attempt " + header.attempt() + " is not the one being trained (epoch "
                    + (epoch + 1) + " attempt " + attempt + ")";
        }
        ModelState model = epochStart.pycls();
        if (header.floatCount() != model.floats().length || header.longCount() != model.longs().length) {
            return "its size (" + header.floatCount() + " floats, " + header.longCount() + " longs) is not the model's ("
                    + model.floats().length + ", " + model.longs().length + ")";
        }
        return null;
    }

    /** Applies one snapshot of the current attempt; returns the attempt's update count, -1 if it ended meanwhile. */
    private synchronized int apply(SnapshotWire.Header header, float[] floats, long[] longs) throws IOException {
        if (header.epoch() != epoch || header.attempt() != attempt) {
            return -1;
        }
        ModelState weights = new ModelState(epochStart.pycls().layout(), floats, longs);
        if (staged == null) {
            staged = epochStart.copy();
        }
        staged.apply(weights, epochAlpha);
        updates++;
        if (dumpDir != null) {
            dump(header, weights);
        }
        return updates;
    }

    private void dump(SnapshotWire.Header header, ModelState weights) throws IOException {
        Files.createDirectories(dumpDir);
        String name = String.format("e%04d_a%d_i%06d.bin", header.epoch(), header.attempt(), header.iteration());
        SnapshotFiles.write(dumpDir.resolve(name), weights);
    }

    private static String reason(IOException e) {
        if (e instanceof SocketTimeoutException) {
            return "too slow (read timed out)";
        }
        if (e instanceof EOFException) {
            return "closed the connection early";
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // refusing anyway
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
