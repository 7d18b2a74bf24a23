package ai.emaspark.ema;

import ai.emaspark.auth.AuthException;
import ai.emaspark.auth.Handshake;
import ai.emaspark.auth.RunSecret;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;

/**
 * Rank 0's side: proves to the driver's EMA service that it belongs to this run and attempt, then
 * sends weight snapshots on a background thread, in order, so training does not wait for the
 * network. At most two snapshots are in flight; a third waits (bounded memory). The states sent are
 * handed out again ({@link #blank}), so a snapshot of a large model costs a copy, not an allocation (a
 * fresh 100 MB array is zeroed and faulted in page by page, and churns the heap). {@link #flush()}
 * returns once the driver has applied every one.
 */
public final class EmaSnapshotSender implements AutoCloseable {
    private static final int MAX_IN_FLIGHT = 2;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration ACK_TIMEOUT = Duration.ofMinutes(10);

    private final int epoch;
    private final int attempt;
    private final Socket socket;
    private final DataOutputStream out;
    private final DataInputStream in;
    private final Handshake.Session session;
    private final ExecutorService thread;
    private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
    private final Queue<ModelState> sent = new ConcurrentLinkedQueue<>(); // free to fill again
    private volatile IOException failure;
    private volatile int acknowledged;
    private int submitted;

    /**
     * @param encrypt whether the run encrypts (spark.network.crypto.enabled): bound into the handshake, so
     *     both sides agree on it; snapshots are sealed with AES-GCM either way
     */
    public EmaSnapshotSender(String host, int port, RunSecret secret, boolean encrypt, int epoch, int attempt) throws IOException {
        this.epoch = epoch;
        this.attempt = attempt;
        Connection connection = open(host, port, secret, SnapshotWire.context(epoch, attempt, encrypt));
        this.socket = connection.socket();
        this.out = connection.out();
        this.in = connection.in();
        this.session = connection.session();
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "ema-snapshot-sender");
            t.setDaemon(true);
            return t;
        });
    }

    private record Connection(Socket socket, DataOutputStream out, DataInputStream in, Handshake.Session session) {}

    /** Connects and authenticates, trying again for a while when the service is busy (strangers) or not up. */
    private static Connection open(String host, int port, RunSecret secret, String context) throws IOException {
        long deadline = System.nanoTime() + CONNECT_TIMEOUT.toNanos();
        while (true) {
            Socket socket = new Socket();
            try {
                socket.connect(new InetSocketAddress(host, port), (int) CONNECT_TIMEOUT.toMillis());
                socket.setTcpNoDelay(true);
                socket.setSoTimeout((int) ACK_TIMEOUT.toMillis());
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 20));
                DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
                Handshake.Client handshake = Handshake.client(secret, context);
                SnapshotWire.clientHandshake(in, out, handshake);
                return new Connection(socket, out, in, handshake.session());
            } catch (AuthException e) {
                socket.close();
                throw new IOException("the driver's EMA service at " + host + ":" + port + " is not this run's: "
                        + e.getMessage(), e);
            } catch (IOException e) {
                socket.close();
                if (System.nanoTime() > deadline) {
                    throw new IOException("the driver's EMA service at " + host + ":" + port + " did not accept rank 0 within "
                            + CONNECT_TIMEOUT.toSeconds() + " s: " + e, e);
                }
                pause();
            }
        }
    }

    private static void pause() throws IOException {
        try {
            Thread.sleep(500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while connecting to the EMA service");
        }
    }

    /**
     * A state of {@code layout} to fill with the next snapshot and {@link #submit}: one already sent, or a
     * new one (never more than {@code MAX_IN_FLIGHT + 1} are made).
     */
    public ModelState blank(StateLayout layout) {
        ModelState state = sent.poll();
        return state != null && state.layout().equals(layout) ? state : ModelState.zeros(layout);
    }

    /** Queues the weights after iteration {@code iteration}; {@code snapshot} must not change until it is sent. */
    public void submit(int iteration, ModelState snapshot) throws IOException {
        throwIfFailed();
        try {
            inFlight.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to send an EMA snapshot", e);
        }
        submitted++;
        thread.execute(() -> {
            try {
                if (failure == null) {
                    send(iteration, snapshot);
                    sent.add(snapshot);
                }
            } catch (IOException e) {
                failure = e;
            } finally {
                inFlight.release();
            }
        });
    }

    private void send(int iteration, ModelState snapshot) throws IOException {
        SnapshotWire.writeHeader(out, new SnapshotWire.Header(epoch, attempt, iteration,
                snapshot.floats().length, snapshot.longs().length), session.send());
        SnapshotWire.writePayload(out, snapshot.floats(), snapshot.longs(), session);
        out.flush();
        int count = SnapshotWire.readAck(in, session.receive());
        if (count < 0) {
            throw new IOException("the driver's EMA service refused the snapshot of iteration " + iteration);
        }
        acknowledged = count;
    }

    /** Waits until every submitted snapshot is applied; returns how many were sent. */
    public int flush() throws IOException {
        try {
            inFlight.acquire(MAX_IN_FLIGHT);
            inFlight.release(MAX_IN_FLIGHT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while flushing EMA snapshots", e);
        }
        throwIfFailed();
        if (acknowledged != submitted) {
            throw new IOException("EMA service acknowledged " + acknowledged + " of " + submitted + " snapshots");
        }
        return submitted;
    }

    private void throwIfFailed() throws IOException {
        if (failure != null) {
            throw new IOException("sending EMA snapshots to the driver failed: " + failure.getMessage(), failure);
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
