package ai.emaspark.comm;

import ai.emaspark.auth.FrameCipher;
import ai.emaspark.auth.FrameMac;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * What travels on a ring link, and how it is moved with a timeout. A call starts with a header
 * (magic, op, length, call number) and its MAC; then blocks of floats follow, each with a MAC when
 * blocks are authenticated. Channels are non-blocking with one selector each, only to get read and
 * write timeouts (blocking NIO channels have none); the loops behave like blocking I/O otherwise.
 */
final class RingWire {
    static final int MAGIC = 0x52494E47; // "RING"
    static final int OP_SUM = 1;
    static final int OP_MEAN = 2;
    static final int HEADER_BYTES = 20;
    static final int TAG_BYTES = FrameMac.TAG_BYTES;
    /**
     * Sub-block size (1 MB): the receiver adds one block while the next is in flight, and buffers stay
     * cache-friendly. 1 MB measured better than 256 KB and 4 MB on loopback.
     */
    static final int BLOCK_FLOATS = 1 << 18;
    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN; // native on x86/arm: bulk copies are memcpy

    private RingWire() {}

    /**
     * The header that starts every call: both ends of a link must agree on it. {@code exact}: the
     * elements from there on travel as fp32 whatever the wire format.
     */
    record CallHeader(int magic, int op, int length, int exact, int call) {
        static CallHeader of(int op, int length, int exact, int call) {
            return new CallHeader(MAGIC, op, length, exact, call);
        }

        String describe() {
            return "call #" + call + " is " + (op == OP_MEAN ? "mean" : op == OP_SUM ? "sum" : "op " + op)
                    + " of " + length + " floats" + (exact < length ? " (the last " + (length - exact) + " exact)" : "");
        }
    }

    /** The bytes that follow a block of floats: its GCM tag when sealed, else none. */
    static int blockTagBytes(RingAuth auth) {
        return auth.sealsBlocks() ? FrameCipher.TAG_BYTES : 0;
    }

    /**
     * Makes {@code channel} non-blocking and registers it for {@code ops} with a selector of its own, only
     * for timeouts; on failure closes the selector (the channel is the caller's).
     */
    static Selector selector(SocketChannel channel, int ops) throws IOException {
        Selector selector = Selector.open();
        try {
            channel.configureBlocking(false);
            channel.register(selector, ops);
            return selector;
        } catch (IOException | RuntimeException e) {
            RingConnector.closeQuietly(selector);
            throw e;
        }
    }

    /**
     * A buffer in wire order large enough for {@code bytes}, reusing {@code current} if it is: direct for
     * bare blocks (the socket reads and writes it without a copy), on the heap for sealed ones (the JDK's
     * GCM runs about a third faster on arrays; the socket's copy costs less than that).
     */
    static ByteBuffer atLeast(ByteBuffer current, int bytes, int tagBytes) {
        if (current != null && current.capacity() >= bytes + tagBytes) {
            return current;
        }
        // Double up to the sub-block size so small calls stay small and large ones stop reallocating.
        int capacity = current == null ? 0 : current.capacity();
        int grown = Math.max(bytes, (int) Math.min((long) capacity * 2, 4L * BLOCK_FLOATS));
        return (tagBytes > 0 ? ByteBuffer.allocate(grown + tagBytes) : ByteBuffer.allocateDirect(grown + tagBytes)).order(ORDER);
    }

    /** Reads until dst is full; fails after timeoutNanos without any byte arriving. */
    static void readFully(SocketChannel ch, Selector sel, ByteBuffer dst, long timeoutNanos, String peer)
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
    static void writeFully(SocketChannel ch, Selector sel, ByteBuffer src, long timeoutNanos, String peer)
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

    private static String seconds(long nanos) {
        double s = nanos / 1e9;
        return s == Math.rint(s) ? String.valueOf((long) s) : String.format(Locale.ROOT, "%.1f", s);
    }
}
