package ai.emaspark.comm;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import ai.emaspark.auth.FrameMac;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Ring all-reduce of float arrays over TCP between {@code worldSize} ranks.
 *
 * <p>Each rank connects to the next rank and accepts one connection from the previous one. A call runs a
 * reduce-scatter (N-1 steps) followed by an all-gather (N-1 steps). Every chunk is summed in one fixed
 * order along the ring, finished (divided by N for the mean) once on its owning rank, and then only
 * copied, so all ranks end with bitwise identical arrays.
 *
 * <p>Sends run on a dedicated sender thread while the calling thread receives, so neither side blocks
 * the other when socket buffers fill. Channels are non-blocking with one selector each, only to get read
 * and write timeouts (blocking NIO channels have none); the loops behave like blocking I/O otherwise.
 *
 * <p>Connections are authenticated by the run's secret when they are made ({@link RingConnector}), so
 * strangers never take part. Every call's header carries a MAC under the link's session key; with
 * {@link RingAuth#blockMacs()} every 1 MB block of floats does too, so nothing injected into an
 * established connection is ever added into the buffer (HMAC-SHA256 costs ~0.6 ms per MB per side).
 *
 * <p>Calls on one instance must be made by one thread at a time, in the same order on every rank. Any
 * I/O failure (peer died, timeout, mismatched call) closes the instance, since the byte streams are out
 * of step afterwards; later calls fail fast. The I/O timeout also bounds how long a rank waits for a
 * slower peer to enter the same call, so it must exceed the longest compute gap between calls.
 */
public final class RingAllReduce implements AutoCloseable {
    /** Default longest wait without any progress on a socket during a call. */
    public static final Duration DEFAULT_IO_TIMEOUT = Duration.ofMinutes(10);

    private static final int MAGIC = 0x52494E47; // "RING"
    private static final int OP_SUM = 1;
    private static final int OP_MEAN = 2;
    private static final int HEADER_BYTES = 16; // magic, op, length, call number
    private static final int TAG_BYTES = FrameMac.TAG_BYTES;
    /**
     * Sub-block size (1 MB): the receiver adds one block while the next is in flight, and buffers stay
     * cache-friendly. 1 MB measured better than 256 KB and 4 MB on loopback.
     */
    private static final int BLOCK_FLOATS = 1 << 18;
    private static final ByteOrder WIRE_ORDER = ByteOrder.LITTLE_ENDIAN; // native on x86/arm: bulk copies are memcpy

    private final int rank;
    private final int world;
    private final String nextPeer; // "rank k at host:port", for messages
    private final String prevPeer;
    private final SocketChannel sendChannel; // to next; null when world == 1
    private final SocketChannel recvChannel; // from previous; null when world == 1
    private final Selector sendSelector;
    private final Selector recvSelector;
    private final ExecutorService sender;
    private final long ioTimeoutNanos;
    private final FrameMac sendMac; // used by the sender thread only
    private final FrameMac receiveMac; // used by the calling thread only
    private final int blockTag; // TAG_BYTES when blocks carry MACs, else 0

    private final Object callLock = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicReference<IOException> failure = new AtomicReference<>();

    // Used only by the calling thread (under callLock).
    private final ByteBuffer recvHeader = ByteBuffer.allocateDirect(HEADER_BYTES + TAG_BYTES).order(WIRE_ORDER);
    private ByteBuffer recvBuf = ByteBuffer.allocateDirect(0).order(WIRE_ORDER);
    private FloatBuffer recvFloats = recvBuf.asFloatBuffer();
    private float[] scratch = new float[0];
    private int calls;

    // Used only by the sender thread.
    private final ByteBuffer sendHeader = ByteBuffer.allocateDirect(HEADER_BYTES + TAG_BYTES).order(WIRE_ORDER);
    private ByteBuffer sendBuf = ByteBuffer.allocateDirect(0).order(WIRE_ORDER);
    private FloatBuffer sendFloats = sendBuf.asFloatBuffer();

    private RingAllReduce(int rank, int world, List<String> addresses, RingConnector.Links links, Duration ioTimeout,
                          boolean blockMacs) throws IOException {
        this.rank = rank;
        this.world = world;
        this.ioTimeoutNanos = ioTimeout.toNanos();
        int next = (rank + 1) % world;
        int prev = (rank - 1 + world) % world;
        this.nextPeer = "rank " + next + " at " + addresses.get(next);
        this.prevPeer = "rank " + prev + " at " + addresses.get(prev);
        SocketChannel out = links == null ? null : links.out();
        SocketChannel in = links == null ? null : links.in();
        this.sendChannel = out;
        this.recvChannel = in;
        this.sendMac = links == null ? null : links.sendMac();
        this.receiveMac = links == null ? null : links.receiveMac();
        this.blockTag = blockMacs ? TAG_BYTES : 0;
        if (world == 1) {
            sendSelector = null;
            recvSelector = null;
            sender = null;
            return;
        }
        // On failure close what was opened here; connect() closes the channels.
        Selector ss = null;
        Selector rs = null;
        try {
            ss = Selector.open();
            rs = Selector.open();
            out.configureBlocking(false);
            in.configureBlocking(false);
            out.register(ss, SelectionKey.OP_WRITE);
            in.register(rs, SelectionKey.OP_READ);
        } catch (IOException e) {
            RingConnector.closeQuietly(ss);
            RingConnector.closeQuietly(rs);
            throw e;
        }
        sendSelector = ss;
        recvSelector = rs;
        sender = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "ring-allreduce-sender-rank" + rank);
            t.setDaemon(true);
            return t;
        });
    }

    /** Opens the listening socket of one rank on bindHost with an ephemeral port (before the rendezvous). */
    public static ServerSocketChannel listen(String bindHost) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open();
        try {
            // Set before bind so accepted sockets start with a large window (scaling is fixed at SYN time).
            server.setOption(StandardSocketOptions.SO_RCVBUF, RingConnector.SOCKET_BUFFER_BYTES);
            server.bind(new InetSocketAddress(bindHost, 0), 16);
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
     * must prove they know the run's secret for this ring ({@code auth}), strangers are refused. Fails with an IOException that names the peer address. World size 1
     * needs no socket ({@code server} may be null). The server socket is closed on success (it serves
     * exactly one peer) and left open on failure. {@code ioTimeout} is the longest wait without
     * progress on a socket during a call before it fails with a SocketTimeoutException.
     */
    public static RingAllReduce connect(int rank, List<String> addresses, ServerSocketChannel server, Duration timeout,
                                        Duration ioTimeout, RingAuth auth) throws IOException {
        int world = addresses.size();
        if (world == 0 || rank < 0 || rank >= world) {
            throw new IllegalArgumentException("rank " + rank + " out of range for " + world + " addresses");
        }
        if (timeout.isNegative() || ioTimeout.isNegative() || ioTimeout.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive: " + timeout + ", " + ioTimeout);
        }
        if (world == 1) {
            if (server != null) {
                server.close();
            }
            return new RingAllReduce(rank, 1, addresses, null, ioTimeout, false);
        }
        Objects.requireNonNull(server, "server");
        RingConnector.Links links = RingConnector.connect(rank, addresses, server, timeout, auth.secret(), auth.context());
        try {
            RingAllReduce ring = new RingAllReduce(rank, world, addresses, links, ioTimeout, auth.blockMacs());
            server.close();
            return ring;
        } catch (IOException | RuntimeException e) {
            RingConnector.closeQuietly(links.out());
            RingConnector.closeQuietly(links.in());
            throw e;
        }
    }

    public int rank() {
        return rank;
    }

    public int worldSize() {
        return world;
    }

    /** In place: every element becomes the mean over ranks. After return all ranks hold bitwise identical arrays. */
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

    /** Closes sockets and stops the sender thread; idempotent. A call in progress on another thread fails. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true) || world == 1) {
            return;
        }
        // Selectors first: closing one wakes a thread blocked in select and deregisters the channel, which
        // lets the channel close at once (a registered non-blocking channel defers its close).
        RingConnector.closeQuietly(recvSelector);
        RingConnector.closeQuietly(sendSelector);
        RingConnector.closeQuietly(sendChannel);
        RingConnector.closeQuietly(recvChannel);
        for (Runnable queued : sender.shutdownNow()) {
            if (queued instanceof Future<?> f) {
                f.cancel(false); // a caller may be waiting on it
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------

    private void allReduce(float[] a, int offset, int length, int op) throws IOException {
        Objects.checkFromIndexSize(offset, length, a.length);
        synchronized (callLock) {
            ensureOpen();
            if (world == 1) {
                return; // sum and mean of one rank are the input itself
            }
            try {
                ring(a, offset, length, op);
            } catch (IOException | RuntimeException e) {
                IOException first = fail(e instanceof IOException io ? io : new IOException(e));
                if (first != e) {
                    first.addSuppressed(e);
                }
                throw first;
            }
        }
    }

    private void ring(float[] a, int off, int len, int op) throws IOException {
        int n = world;
        int call = ++calls;
        // Exchange (op, length, call number) first: a mismatched call would otherwise mix data silently.
        Future<?> header = submit(() -> sendHeader(op, len, call));
        int[] peer = receiveHeader();
        awaitSend(header); // before failing on a mismatch, so the peer can read our header and report it too
        checkHeader(peer, op, len, call);
        if (len == 0) {
            return;
        }
        Chunks chunks = new Chunks(len, n);
        // Reduce-scatter: at step s send chunk (rank-s), receive and add chunk (rank-s-1). Chunk c is summed
        // starting at rank c, then c+1, ..., a fixed order; rank r ends owning the full sum of chunk r+1.
        for (int s = 0; s < n - 1; s++) {
            int sc = Math.floorMod(rank - s, n);
            int rc = Math.floorMod(rank - s - 1, n);
            Future<?> f = submit(() -> sendFloats(a, off + chunks.start(sc), chunks.size(sc)));
            receiveFloats(a, off + chunks.start(rc), chunks.size(rc), true);
            awaitSend(f);
        }
        int own = Math.floorMod(rank + 1, n);
        if (op == OP_MEAN) {
            // Divided once, on the owner, so every rank receives the very same bits.
            float div = n;
            for (int i = off + chunks.start(own), end = i + chunks.size(own); i < end; i++) {
                a[i] /= div;
            }
        }
        // All-gather: at step s forward chunk (rank+1-s), receive and overwrite chunk (rank-s).
        for (int s = 0; s < n - 1; s++) {
            int sc = Math.floorMod(rank + 1 - s, n);
            int rc = Math.floorMod(rank - s, n);
            Future<?> f = submit(() -> sendFloats(a, off + chunks.start(sc), chunks.size(sc)));
            receiveFloats(a, off + chunks.start(rc), chunks.size(rc), false);
            awaitSend(f);
        }
    }

    // ---- sender thread ----

    private void sendHeader(int op, int len, int call) throws IOException {
        sendHeader.clear();
        sendHeader.putInt(MAGIC).putInt(op).putInt(len).putInt(call).flip();
        byte[] tag = sendMac.update(sendHeader).tag();
        sendHeader.limit(HEADER_BYTES + TAG_BYTES).position(HEADER_BYTES);
        sendHeader.put(tag).flip();
        writeFully(sendChannel, sendSelector, sendHeader, ioTimeoutNanos, nextPeer);
    }

    private void sendFloats(float[] a, int off, int len) throws IOException {
        while (len > 0) {
            int k = Math.min(len, BLOCK_FLOATS);
            if (sendBuf.capacity() < 4 * k + blockTag) {
                sendBuf = ByteBuffer.allocateDirect(grow(sendBuf.capacity(), 4 * k) + blockTag).order(WIRE_ORDER);
                sendFloats = sendBuf.asFloatBuffer();
            }
            sendFloats.clear();
            sendFloats.put(a, off, k);
            sendBuf.clear().limit(4 * k);
            if (blockTag > 0) {
                byte[] tag = sendMac.update(sendBuf).tag();
                sendBuf.limit(4 * k + TAG_BYTES).position(4 * k);
                sendBuf.put(tag).position(0);
            }
            writeFully(sendChannel, sendSelector, sendBuf, ioTimeoutNanos, nextPeer);
            off += k;
            len -= k;
        }
    }

    // ---- calling thread ----

    private int[] receiveHeader() throws IOException {
        recvHeader.clear();
        readFully(recvChannel, recvSelector, recvHeader, ioTimeoutNanos, prevPeer);
        verify(recvHeader, HEADER_BYTES, "call header from " + prevPeer);
        return new int[] {recvHeader.getInt(), recvHeader.getInt(), recvHeader.getInt(), recvHeader.getInt()};
    }

    /** Checks the MAC after the first {@code length} bytes of {@code buffer}; leaves the data at [0, length). */
    private void verify(ByteBuffer buffer, int length, String what) throws IOException {
        buffer.position(0).limit(length);
        byte[] tag = new byte[TAG_BYTES];
        buffer.duplicate().limit(length + TAG_BYTES).position(length).get(tag);
        receiveMac.update(buffer).verify(tag, what);
    }

    private void checkHeader(int[] peer, int op, int len, int call) throws IOException {
        int magic = peer[0];
        int peerOp = peer[1];
        int peerLen = peer[2];
        int peerCall = peer[3];
        if (magic != MAGIC) {
            throw new IOException("protocol error: bad call header from " + prevPeer);
        }
        if (peerOp != op || peerLen != len || peerCall != call) {
            throw new IOException("all-reduce mismatch between rank " + rank + " and " + prevPeer + ": this rank "
                    + describe(call, op, len) + ", the peer " + describe(peerCall, peerOp, peerLen));
        }
    }

    private void receiveFloats(float[] a, int off, int len, boolean add) throws IOException {
        while (len > 0) {
            int k = Math.min(len, BLOCK_FLOATS);
            if (recvBuf.capacity() < 4 * k + blockTag) {
                recvBuf = ByteBuffer.allocateDirect(grow(recvBuf.capacity(), 4 * k) + blockTag).order(WIRE_ORDER);
                recvFloats = recvBuf.asFloatBuffer();
            }
            recvBuf.clear().limit(4 * k + blockTag);
            readFully(recvChannel, recvSelector, recvBuf, ioTimeoutNanos, prevPeer);
            if (blockTag > 0) {
                verify(recvBuf, 4 * k, "data from " + prevPeer);
            }
            recvFloats.clear();
            if (add) {
                if (scratch.length < k) {
                    scratch = new float[recvBuf.capacity() / 4];
                }
                recvFloats.get(scratch, 0, k);
                float[] s = scratch;
                for (int i = 0; i < k; i++) {
                    a[off + i] += s[i]; // local + incoming: the order every rank would use for this chunk
                }
            } else {
                recvFloats.get(a, off, k);
            }
            off += k;
            len -= k;
        }
    }

    /** Reads until dst is full; fails after timeoutNanos without any byte arriving. */
    private static void readFully(SocketChannel ch, Selector sel, ByteBuffer dst, long timeoutNanos, String peer)
            throws IOException {
        long idleSince = 0;
        while (dst.hasRemaining()) {
            int r;
            try {
                r = ch.read(dst);
            } catch (IOException e) {
                throw new IOException("receiving from " + peer + " failed: " + e, e);
            }
            if (r > 0) {
                idleSince = 0;
                continue;
            }
            if (r < 0) {
                throw new EOFException(peer + " closed the connection");
            }
            long now = System.nanoTime();
            if (idleSince == 0) {
                idleSince = now;
            }
            long left = timeoutNanos - (now - idleSince);
            if (left <= 0) {
                throw new SocketTimeoutException(peer + " sent nothing for " + seconds(timeoutNanos) + " s");
            }
            select(sel, left);
        }
    }

    /** Writes all of src; fails after timeoutNanos without the peer taking any byte. */
    private static void writeFully(SocketChannel ch, Selector sel, ByteBuffer src, long timeoutNanos, String peer)
            throws IOException {
        long idleSince = 0;
        while (src.hasRemaining()) {
            int w;
            try {
                w = ch.write(src);
            } catch (IOException e) {
                throw new IOException("sending to " + peer + " failed: " + e, e);
            }
            if (w > 0) {
                idleSince = 0;
                continue;
            }
            long now = System.nanoTime();
            if (idleSince == 0) {
                idleSince = now;
            }
            long left = timeoutNanos - (now - idleSince);
            if (left <= 0) {
                throw new SocketTimeoutException(peer + " took nothing for " + seconds(timeoutNanos) + " s");
            }
            select(sel, left);
        }
    }

    // ---- helpers ----

    private Future<?> submit(IoTask task) throws IOException {
        try {
            return sender.submit(() -> {
                try {
                    task.run();
                } catch (IOException e) {
                    fail(e); // wake the calling thread instead of letting it wait for data that will not come
                    throw e;
                }
                return null;
            });
        } catch (RejectedExecutionException e) {
            throw new AsynchronousCloseException();
        }
    }

    private static void awaitSend(Future<?> f) throws IOException {
        try {
            f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof IOException io ? io : new IOException("sender thread failed", c);
        } catch (CancellationException e) {
            throw new AsynchronousCloseException();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while sending");
        }
    }

    private static void select(Selector sel, long timeoutNanos) throws IOException {
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException(); // select would return at once and the loop would spin
        }
        try {
            sel.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos))); // 0 would mean forever
            sel.selectedKeys().clear();
        } catch (ClosedSelectorException e) {
            throw new AsynchronousCloseException();
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

    private static String seconds(long nanos) {
        double s = nanos / 1e9;
        return s == Math.rint(s) ? String.valueOf((long) s) : String.format(java.util.Locale.ROOT, "%.1f", s);
    }

    private static int grow(int capacity, int needed) {
        // Double up to the sub-block size so small calls stay small and large ones stop reallocating.
        return Math.max(needed, (int) Math.min((long) capacity * 2, 4L * BLOCK_FLOATS));
    }

    private static String describe(int call, int op, int len) {
        return "call #" + call + " is " + (op == OP_MEAN ? "mean" : op == OP_SUM ? "sum" : "op " + op)
                + " of " + len + " floats";
    }

    @FunctionalInterface
    private interface IoTask {
        void run() throws IOException;
    }
}
