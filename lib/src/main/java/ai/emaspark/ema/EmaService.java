package ai.emaspark.ema;

import ai.emaspark.model.ModelState;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's EMA: a TCP service that takes rank 0's weight snapshots while training runs and
 * applies pycls's update to them. Updates are staged per (epoch, stage attempt) on a copy of the
 * epoch's starting EMA; only the attempt that the driver saw succeed is kept, so a failed or retried
 * barrier stage never leaves its updates behind.
 */
public final class EmaService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmaService.class);

    private final ServerSocket server;
    private final Path dumpDir;
    private final Thread acceptor;
    private final Map<Integer, Staged> staged = new HashMap<>();
    private int epoch = -1;
    private ModelState epochStart;
    private double epochAlpha;

    private static final class Staged {
        final ModelState ema;
        int updates;

        Staged(ModelState ema) {
            this.ema = ema;
        }
    }

    /**
     * @param bindHost the address to listen on (the driver's bind address; 0.0.0.0 for all)
     * @param port the port to listen on, 0 for any free one
     * @param dumpDir if not null, every accepted snapshot is also written there (for tests)
     */
    public EmaService(String bindHost, int port, Path dumpDir) throws IOException {
        this.server = new ServerSocket(port, 16, InetAddress.getByName(bindHost));
        this.dumpDir = dumpDir;
        this.acceptor = new Thread(this::acceptLoop, "ema-service");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Starts staging for {@code epoch}: every attempt starts from {@code emaStart}. */
    public synchronized void beginEpoch(int epoch, ModelState emaStart, double alpha) {
        this.epoch = epoch;
        this.epochStart = emaStart.copy();
        this.epochAlpha = alpha;
        this.staged.clear();
    }

    /**
     * The EMA after {@code attempt}'s updates; fails unless exactly {@code expectedUpdates} arrived.
     * With no update expected (EMA_UPDATE_PERIOD 0), the EMA is unchanged.
     */
    public synchronized ModelState finishEpoch(int epoch, int attempt, int expectedUpdates) {
        if (epoch != this.epoch) {
            throw new IllegalStateException("EMA service is staging epoch " + this.epoch + ", not " + epoch);
        }
        Staged result = staged.get(attempt);
        int received = result == null ? 0 : result.updates;
        if (received != expectedUpdates) {
            throw new IllegalStateException("epoch " + (epoch + 1) + " attempt " + attempt + ": EMA service received "
                    + received + " weight snapshots, rank 0 sent " + expectedUpdates);
        }
        ModelState ema = result == null ? epochStart.copy() : result.ema;
        staged.clear();
        return ema;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                Thread reader = new Thread(() -> serve(socket), "ema-service-connection");
                reader.setDaemon(true);
                reader.start();
            } catch (SocketException closed) {
                return;
            } catch (IOException e) {
                LOG.warn("EMA service: accept failed: " + e);
            }
        }
    }

    private void serve(Socket socket) {
        try (socket;
                DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 20));
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()))) {
            while (true) {
                SnapshotWire.Header header;
                try {
                    header = SnapshotWire.readHeader(in);
                } catch (java.io.EOFException end) {
                    return;
                }
                float[] floats = new float[header.floatCount()];
                long[] longs = new long[header.longCount()];
                SnapshotWire.readFloats(in, floats);
                SnapshotWire.readLongs(in, longs);
                out.writeInt(apply(header, floats, longs));
                out.flush();
            }
        } catch (IOException e) {
            LOG.warn("EMA service: a snapshot connection failed: " + e);
        }
    }

    /** Applies one snapshot; returns the attempt's update count, or -1 when it is not accepted. */
    private synchronized int apply(SnapshotWire.Header header, float[] floats, long[] longs) throws IOException {
        if (header.epoch() != epoch || epochStart == null) {
            LOG.warn("EMA service: ignored a snapshot of epoch " + (header.epoch() + 1) + " (staging " + (epoch + 1) + ")");
            return -1;
        }
        if (floats.length != epochStart.floats().length || longs.length != epochStart.longs().length) {
            LOG.warn("EMA service: ignored a snapshot whose size does not match the model");
            return -1;
        }
        ModelState weights = new ModelState(epochStart.layout(), floats, longs);
        Staged target = staged.computeIfAbsent(header.attempt(), a -> new Staged(epochStart.copy()));
        EmaRule.update(target.ema, weights, epochAlpha);
        target.updates++;
        if (dumpDir != null) {
            dump(header, weights);
        }
        return target.updates;
    }

    private void dump(SnapshotWire.Header header, ModelState weights) throws IOException {
        Files.createDirectories(dumpDir);
        String name = String.format("e%04d_a%d_i%06d.bin", header.epoch(), header.attempt(), header.iteration());
        SnapshotFiles.write(dumpDir.resolve(name), weights);
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
