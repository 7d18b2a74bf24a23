package ai.emaspark.ema;

import ai.emaspark.model.ModelState;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;

/**
 * Rank 0's side: sends weight snapshots to the driver's EMA service on a background thread, in
 * order, so training does not wait for the network. At most two snapshots are in flight; a third
 * waits (bounded memory). {@link #flush()} returns once the driver has applied every one.
 */
public final class EmaSnapshotSender implements AutoCloseable {
    private static final int MAX_IN_FLIGHT = 2;

    private final int epoch;
    private final int attempt;
    private final Socket socket;
    private final DataOutputStream out;
    private final DataInputStream in;
    private final ExecutorService thread;
    private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
    private volatile IOException failure;
    private volatile int acknowledged;
    private int submitted;

    public EmaSnapshotSender(String host, int port, int epoch, int attempt) throws IOException {
        this.epoch = epoch;
        this.attempt = attempt;
        this.socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), 60_000);
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(600_000);
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 20));
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "ema-snapshot-sender");
            t.setDaemon(true);
            return t;
        });
    }

    /** Queues the weights after iteration {@code iteration}; {@code snapshot} must not change afterwards. */
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
                snapshot.floats().length, snapshot.longs().length));
        SnapshotWire.writeFloats(out, snapshot.floats());
        SnapshotWire.writeLongs(out, snapshot.longs());
        out.flush();
        int count = in.readInt();
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
