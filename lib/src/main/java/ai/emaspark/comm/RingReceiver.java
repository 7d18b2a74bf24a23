package ai.emaspark.comm;

import static ai.emaspark.comm.RingWire.BLOCK_FLOATS;
import static ai.emaspark.comm.RingWire.HEADER_BYTES;
import static ai.emaspark.comm.RingWire.TAG_BYTES;

import ai.emaspark.auth.FrameCipher;
import ai.emaspark.auth.FrameMac;
import ai.emaspark.auth.Handshake;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * A rank's link from the previous rank, as its calling thread uses it: call headers and blocks of
 * floats, each checked (opened, when encrypted) before it is used.
 */
final class RingReceiver implements AutoCloseable {
    private final SocketChannel channel;
    private final Selector selector;
    private final FrameMac mac;
    private final FrameCipher cipher; // null unless blocks are encrypted
    private final int blockTag; // the bytes after a block: its GCM tag, its MAC, or none
    private final String peer; // "rank k at host:port", for messages
    private final long timeoutNanos;
    private final ByteBuffer header = ByteBuffer.allocateDirect(HEADER_BYTES + TAG_BYTES).order(RingWire.ORDER);
    private ByteBuffer block;
    private float[] scratch = new float[0];

    /** Takes over {@code channel} (made non-blocking); on failure closes only what it opened itself. */
    RingReceiver(SocketChannel channel, Handshake.Session keys, RingAuth auth, String peer, long timeoutNanos) throws IOException {
        this.channel = channel;
        this.mac = keys.receive();
        this.cipher = auth.encrypt() ? keys.open() : null;
        this.blockTag = RingWire.blockTagBytes(auth);
        this.peer = peer;
        this.timeoutNanos = timeoutNanos;
        this.selector = RingWire.selector(channel, SelectionKey.OP_READ);
    }

    String peer() {
        return peer;
    }

    RingWire.CallHeader receiveHeader() throws IOException {
        header.clear();
        RingWire.readFully(channel, selector, header, timeoutNanos, peer);
        verify(header, HEADER_BYTES, "call header from " + peer);
        return new RingWire.CallHeader(header.getInt(), header.getInt(), header.getInt(), header.getInt());
    }

    /**
     * Receives {@code len} floats into {@code a[off, off+len)}: added to what is there ({@code add}, in
     * the order local + incoming that every rank would use for this chunk) or written over it.
     */
    void receiveFloats(float[] a, int off, int len, boolean add) throws IOException {
        while (len > 0) {
            int k = Math.min(len, BLOCK_FLOATS);
            block = RingWire.atLeast(block, 4 * k, blockTag);
            block.clear().limit(4 * k + blockTag);
            RingWire.readFully(channel, selector, block, timeoutNanos, peer);
            if (cipher != null) {
                cipher.open(block, 4 * k, "data from " + peer);
            } else if (blockTag > 0) {
                verify(block, 4 * k, "data from " + peer);
            }
            FloatBuffer floats = block.position(0).limit(4 * k).asFloatBuffer();
            if (add) {
                if (scratch.length < k) {
                    scratch = new float[block.capacity() / 4];
                }
                floats.get(scratch, 0, k);
                float[] s = scratch;
                for (int i = 0; i < k; i++) {
                    a[off + i] += s[i];
                }
            } else {
                floats.get(a, off, k);
            }
            off += k;
            len -= k;
        }
    }

    /** Checks the MAC after the first {@code length} bytes of {@code buffer}; leaves the data at [0, length). */
    private void verify(ByteBuffer buffer, int length, String what) throws IOException {
        buffer.position(0).limit(length);
        byte[] tag = new byte[TAG_BYTES];
        buffer.duplicate().limit(length + TAG_BYTES).position(length).get(tag);
        mac.update(buffer).verify(tag, what);
    }

    /** Selector first: that wakes a thread blocked in select and lets the channel close at once. */
    @Override
    public void close() {
        RingConnector.closeQuietly(selector);
        RingConnector.closeQuietly(channel);
    }
}
