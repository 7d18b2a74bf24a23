package ai.emaspark.comm;

import static ai.emaspark.comm.RingWire.OP_MEAN;
import static ai.emaspark.comm.RingWire.OP_SUM;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * Ring all-reduce of float arrays over TCP between {@code worldSize} ranks.
 *
 * <p>Each rank connects to the next rank and accepts a connection from the previous one. A call runs a
 * reduce-scatter (N-1 steps) followed by an all-gather (N-1 steps). Every chunk is summed in one fixed
 * order along the ring, finished (divided by N for the mean) once on its owning rank, and then only
 * copied, so all ranks end with bitwise identical arrays.
 *
 * <p>Sends run on sender threads while the calling thread receives, so neither side blocks the other
 * when socket buffers fill; each link may be several TCP connections ({@link RingLinks}; the wire is
 * {@link RingWire}).
 *
 * <p>Connections are authenticated by the run's secret when they are made ({@link RingConnector}), so
 * strangers never take part. Every call's header carries a MAC under the link's session key; with
 * {@link RingAuth#blockMacs()} or {@link RingAuth#encrypt()} every 1 MB block of floats is sealed with
 * AES-256-GCM, so nothing injected into an established connection is ever added into the buffer (about
 * 0.3 ms per MB per side).
 *
 * <p>Calls on one instance must be made by one thread at a time, in the same order on every rank. Any
 * I/O failure (peer died, timeout, mismatched call) closes the instance, since the byte streams are out
 * of step afterwards; later calls fail fast. The I/O timeout also bounds how long a rank waits for a
 * slower peer to enter the same call, so it must exceed the longest compute gap between calls.
 */
public final class RingAllReduce implements AutoCloseable {
    /** Default longest wait without any progress on a socket during a call. */
    public static final Duration DEFAULT_IO_TIMEOUT = Duration.ofMinutes(10);

    private final int rank;
    private final int world;
    private final WireFormat wire;
    private final RingLinks links; // null when world == 1
    private final ExecutorService passer; // runs the passes of a bucketed call, so the caller can use finished buckets

    private final Object callLock = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicReference<IOException> failure = new AtomicReference<>();
    private int calls; // under callLock
    private FloatSlab staging; // under callLock: where a float[] call's values travel from
    private volatile long lastWaitNanos;

    private RingAllReduce(int rank, int world, WireFormat wire, RingLinks links) {
        this.rank = rank;
        this.world = world;
        this.wire = wire;
        this.links = links;
        this.passer = world == 1 ? null : new ThreadPoolExecutor(0, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "ring-allreduce-passes-rank" + rank);
            t.setDaemon(true);
            return t;
        });
    }

    /** Opens the listening socket of one rank on bindHost with an ephemeral port (before the rendezvous). */
    public static ServerSocketChannel listen(String bindHost) throws IOException {
        return listen(bindHost, 0);
    }

    /** {@link #listen(String)} on a given port (0: any free one). */
    public static ServerSocketChannel listen(String bindHost, int port) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open();
        try {
            // Set before bind so accepted sockets start with a large window (scaling is fixed at SYN time).
            server.setOption(StandardSocketOptions.SO_RCVBUF, RingConnector.SOCKET_BUFFER_BYTES);
            server.bind(new InetSocketAddress(bindHost, port), 16);
            return server;
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /**
     * Connects rank {@code rank} into the ring given every rank's "host:port" (index = rank), using the
     * already-open server socket: connects to the next rank ((rank+1)%world), retrying until
     * {@code timeout} passes (peers may start late), and accepts from the previous one; both links
     * must prove they know the run's secret for this ring ({@code auth}), strangers are refused. Fails
     * with an IOException that names the peer address. World size 1 needs no socket ({@code server}
     * may be null). The server socket is closed on success (it serves exactly one peer) and left open
     * on failure. {@code ioTimeout} is the longest wait without progress on a socket during a call
     * before it fails with a SocketTimeoutException.
     */
    public static RingAllReduce connect(int rank, List<String> addresses, ServerSocketChannel server, Duration timeout,
                                        Duration ioTimeout, RingAuth auth) throws IOException {
        return connect(rank, addresses, server, timeout, ioTimeout, auth, WireFormat.FP32);
    }

    /**
     * {@link #connect(int, List, ServerSocketChannel, Duration, Duration, RingAuth)} with the floats on
     * the wire in {@code wire}; every rank must use the same one (it is bound into the handshake, so
     * ranks that differ refuse each other).
     */
    public static RingAllReduce connect(int rank, List<String> addresses, ServerSocketChannel server, Duration timeout,
                                        Duration ioTimeout, RingAuth auth, WireFormat wire) throws IOException {
        return connect(rank, addresses, server, timeout, ioTimeout, auth, wire, 1);
    }

    /**
     * {@link #connect(int, List, ServerSocketChannel, Duration, Duration, RingAuth, WireFormat)} with each
     * link made of {@code streams} TCP connections, every slice split across them (the bits are the same
     * for any number); every rank must use the same number (bound into the handshake too).
     */
    public static RingAllReduce connect(int rank, List<String> addresses, ServerSocketChannel server, Duration timeout,
                                        Duration ioTimeout, RingAuth auth, WireFormat wire, int streams) throws IOException {
        int world = addresses.size();
        if (world == 0 || rank < 0 || rank >= world) {
            throw new IllegalArgumentException("rank " + rank + " out of range for " + world + " addresses");
        }
        if (timeout.isNegative() || ioTimeout.isNegative() || ioTimeout.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive: " + timeout + ", " + ioTimeout);
        }
        if (streams < 1) {
            throw new IllegalArgumentException("streams must be at least 1: " + streams);
        }
        if (world == 1) {
            if (server != null) {
                server.close();
            }
            return new RingAllReduce(rank, 1, wire, null);
        }
        Objects.requireNonNull(server, "server");
        RingConnector.Links connected = RingConnector.connect(rank, addresses, server, timeout, auth.secret(),
                auth.handshakeContext() + (wire == WireFormat.FP32 ? "" : " " + wire.key()), streams);
        int nextRank = (rank + 1) % world;
        int previousRank = (rank - 1 + world) % world;
        AtomicReference<RingAllReduce> ring = new AtomicReference<>();
        RingLinks links = RingLinks.open(connected, auth, wire, "rank " + nextRank + " at " + addresses.get(nextRank),
                "rank " + previousRank + " at " + addresses.get(previousRank), ioTimeout.toNanos(), rank,
                e -> ring.get().fail(e));
        ring.set(new RingAllReduce(rank, world, wire, links));
        server.close();
        return ring.get();
    }

    /**
     * How long the last call waited for the previous rank to make it too (its header's arrival): time
     * spent on the slowest rank, not on the exchange. Accurate for two ranks; for more, a wait for any
     * slower rank shows up here or in the exchange, whichever neighbour it reaches first.
     */
    public long lastWaitNanos() {
        return lastWaitNanos;
    }

    public int rank() {
        return rank;
    }

    public int worldSize() {
        return world;
    }

    /** How the floats travel between ranks. */
    public WireFormat wire() {
        return wire;
    }

    /**
     * In place: every element becomes the mean over ranks. After return all ranks hold bitwise identical
     * arrays. The values go through a slab of the ring's (two copies): {@link #allReduceMean(FloatSlab)}
     * moves a slab's without any.
     */
    public void allReduceMean(float[] buffer) throws IOException {
        allReduce(buffer, 0, buffer.length, OP_MEAN);
    }

    /** In place, sum. Same guarantees. */
    public void allReduceSum(float[] buffer) throws IOException {
        allReduce(buffer, 0, buffer.length, OP_SUM);
    }

    /** Same as {@link #allReduceMean(float[])} on the slice [offset, offset+length). */
    public void allReduceMean(float[] buffer, int offset, int length) throws IOException {
        allReduce(buffer, offset, length, OP_MEAN);
    }

    /** In place, the mean, with no copy between the slab and the sockets (bare fp32). Same guarantees. */
    public void allReduceMean(FloatSlab buffer) throws IOException {
        allReduce(buffer, 0, buffer.length(), OP_MEAN);
    }

    /** The buckets a buffer of {@code length} floats is exchanged in by {@link #allReduceMean(FloatSlab, int, int, IntConsumer)}. */
    public Buckets buckets(int length, int count) {
        return new Buckets(length, world, count);
    }

    /**
     * {@link #allReduceMean(FloatSlab)} in {@code count} passes ({@link Buckets}): the ring's own thread
     * exchanges bucket after bucket while the calling thread gets each one as soon as it is final
     * ({@code done}, in order), so what it does with bucket b (the optimizer step of the tensors it
     * completes) overlaps the exchange of bucket b+1. The bits are those of one pass. If {@code done}
     * throws, the passes still finish (the ring stays in step with the other ranks) before it is rethrown.
     * The last {@code exactTail} elements travel as fp32 whatever the {@link #wire()} (stats that must stay
     * exact, such as the loss).
     */
    public void allReduceMean(FloatSlab buffer, int exactTail, int count, IntConsumer done) throws IOException {
        allReduceMean(buffer, exactTail, count, b -> { }, done);
    }

    /**
     * {@link #allReduceMean(FloatSlab, int, int, IntConsumer)} whose buckets the calling thread fills as
     * they go ({@code fill}, in order, all before the first {@code done}): bucket b+1 is filled while
     * bucket b travels, so the copy out of the engine overlaps the exchange too. A bucket's values outside
     * its slices are the caller's until that bucket is done.
     */
    public void allReduceMean(FloatSlab buffer, int exactTail, int count, IntConsumer fill, IntConsumer done) throws IOException {
        Objects.checkFromIndexSize(0, exactTail, buffer.length());
        Buckets buckets = buckets(buffer.length(), count);
        int exact = buffer.length() - exactTail;
        guarded(() -> {
            if (world == 1 || !exchangeHeaders(OP_MEAN, buffer.length(), exact)) {
                BucketPipeline.local(count, fill, done);
                return;
            }
            BucketPipeline.run(passer, count, b -> pass(buffer, 0, buckets, b, OP_MEAN, exact), fill, done);
        });
    }

    /** Closes sockets and stops the ring's threads; idempotent. A call in progress on another thread fails. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true) || world == 1) {
            return;
        }
        links.close();
        passer.shutdownNow();
    }

    // ---------------------------------------------------------------------------------------------------

    private void allReduce(float[] a, int offset, int length, int op) throws IOException {
        Objects.checkFromIndexSize(offset, length, a.length);
        synchronized (callLock) {
            if (world == 1) {
                ensureOpen();
                return; // sum and mean of one rank are the input itself
            }
            if (staging == null || staging.length() < length) {
                staging = FloatSlab.allocate(length);
            }
            staging.put(0, a, offset, length);
            allReduce(staging, 0, length, op);
            staging.get(0, a, offset, length);
        }
    }

    private void allReduce(FloatSlab a, int offset, int length, int op) throws IOException {
        Objects.checkFromIndexSize(offset, length, a.length());
        guarded(() -> {
            if (world > 1) { // sum and mean of one rank are the input itself
                ring(a, offset, length, op);
            }
        });
    }

    /**
     * Runs one call under the call lock on an open ring. Any failure of the ring closes it (the byte
     * streams are out of step afterwards); a caller's own exception from a bucket comes back as it was.
     */
    private void guarded(RingLinks.IoTask call) throws IOException {
        synchronized (callLock) {
            ensureOpen();
            try {
                call.run();
            } catch (BucketPipeline.CallerFailure e) {
                throw e.getCause();
            } catch (IOException | RuntimeException e) {
                IOException first = fail(e instanceof IOException io ? io : new IOException(e));
                if (first != e) {
                    first.addSuppressed(e);
                }
                throw first;
            }
        }
    }

    private void ring(FloatSlab a, int off, int len, int op) throws IOException {
        if (exchangeHeaders(op, len, len)) {
            pass(a, off, new Buckets(len, world, 1), 0, op, off + len);
        }
    }

    /**
     * Exchanges (op, length, where the exact tail starts, call number) first: a mismatched call would
     * otherwise mix data silently. False: nothing to send.
     */
    private boolean exchangeHeaders(int op, int len, int exact) throws IOException {
        RingWire.CallHeader call = RingWire.CallHeader.of(op, len, exact, ++calls);
        Future<?> header = links.sendHeader(call);
        long waitStart = System.nanoTime();
        RingWire.CallHeader peer = links.receiveHeader(); // arrives when the previous rank makes this call
        lastWaitNanos = System.nanoTime() - waitStart;
        RingLinks.await(header); // before failing on a mismatch, so the peer can read our header and report it too
        checkHeader(peer, call);
        return len > 0;
    }

    /**
     * One pass of the ring over bucket {@code b}: chunk c's slice in it is summed starting at rank c, then
     * c+1, ..., a fixed order (reduce-scatter); rank r ends owning the full sum of chunk r+1's slice,
     * finishes it (the mean: divided once, on the owner, so every rank receives the very same bits), and
     * the slices go round again (all-gather). Elements of {@code a} from index {@code exact} on travel as
     * fp32; the others in the ring's wire format, the owner rounding its finished slice to it first.
     */
    private void pass(FloatSlab a, int off, Buckets buckets, int b, int op, int exact) throws IOException {
        int n = world;
        // Reduce-scatter: at step s send slice (rank-s), receive and add slice (rank-s-1). The last step
        // brings this rank's own slice (rank+1) its full sum: each block is finished as soon as it is
        // summed, while it is in the cache, instead of in a pass of its own.
        RingReceiver.Finish finish = (values, len, exactInBlock) -> finish(values, len, op, exactInBlock);
        List<RingLinks.Step> steps = new ArrayList<>();
        for (int s = 0; s < n - 1; s++) {
            int sc = Math.floorMod(rank - s, n);
            int rc = Math.floorMod(rank - s - 1, n);
            steps.add(new RingLinks.Step(off + buckets.start(sc, b), buckets.size(sc, b), off + buckets.start(rc, b),
                    buckets.size(rc, b), true, s == n - 2 ? finish : null));
        }
        // All-gather: at step s forward slice (rank+1-s), receive and overwrite slice (rank-s).
        for (int s = 0; s < n - 1; s++) {
            int sc = Math.floorMod(rank + 1 - s, n);
            int rc = Math.floorMod(rank - s, n);
            steps.add(new RingLinks.Step(off + buckets.start(sc, b), buckets.size(sc, b), off + buckets.start(rc, b),
                    buckets.size(rc, b), false, null));
        }
        int floats = 0;
        for (int c = 0; c < n; c++) {
            floats += buckets.size(c, b);
        }
        links.pass(a, steps, exact, floats); // pipelined: each step forwards the previous one's blocks as they become final
    }

    /**
     * Finishes {@code values[0, len)} on their owner: the mean divided once (so every rank receives the
     * very same bits) and rounded to the wire format (before {@code exact}), as every other rank will
     * decode it.
     */
    private void finish(float[] values, int len, int op, int exact) {
        if (op == OP_MEAN) {
            float div = world;
            for (int i = 0; i < len; i++) {
                values[i] /= div;
            }
        }
        wire.round(values, 0, len, exact);
    }

    private void checkHeader(RingWire.CallHeader peer, RingWire.CallHeader call) throws IOException {
        if (peer.magic() != RingWire.MAGIC) {
            throw new IOException("protocol error: bad call header from " + links.previousPeer());
        }
        if (!peer.equals(call)) {
            throw new IOException("all-reduce mismatch between rank " + rank + " and " + links.previousPeer() + ": this rank "
                    + call.describe() + ", the peer " + peer.describe());
        }
    }

    /** Records the first failure and closes, so the other thread of this rank and the peers stop too. */
    private IOException fail(IOException e) {
        failure.compareAndSet(null, e);
        close();
        return failure.get();
    }

    private void ensureOpen() throws IOException {
        if (closed.get()) {
            IOException cause = failure.get();
            throw new IOException("RingAllReduce rank " + rank + " is closed"
                    + (cause != null ? " after an earlier failure: " + cause.getMessage() : ""), cause);
        }
    }
}
