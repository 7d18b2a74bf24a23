package ai.emaspark.comm;

import static ai.emaspark.comm.RingWire.BLOCK_FLOATS;
import static ai.emaspark.comm.RingWire.HEADER_BYTES;
import static ai.emaspark.comm.RingWire.TAG_BYTES;

import ai.emaspark.auth.FrameCipher;
import ai.emaspark.auth.FrameMac;
import ai.emaspark.auth.Handshake;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.function.IntConsumer;

/**
 * A rank's link from the previous rank, as its calling thread uses it: call headers and blocks of
 * floats, each checked (opened, when encrypted) before it is used.
 */
final class RingReceiver implements AutoCloseable {
    private final SocketChannel channel;
    private final Selector selector;
    private final FrameMac mac;
    private final FrameCipher cipher; // null unless blocks are sealed
    private final int blockTag; // the bytes after a block: its GCM tag, or none
    private final WireFormat wire;
    private final String peer; // "rank k at host:port", for messages
    private final long timeoutNanos;
    private final ByteBuffer header = ByteBuffer.allocateDirect(HEADER_BYTES + TAG_BYTES).order(RingWire.ORDER);
    private ByteBuffer block;
    private final float[] mine = new float[BLOCK_FLOATS]; // this rank's values of a block, summed and finished here
    private final float[] floats = new float[BLOCK_FLOATS]; // a block's floats before they are added
    private final short[] halves = new short[BLOCK_FLOATS]; // a block's bf16 values before they are widened

    /** Takes over {@code channel} (made non-blocking); on failure closes only what it opened itself. */
    RingReceiver(SocketChannel channel, Handshake.Session keys, RingAuth auth, WireFormat wire, String peer, long timeoutNanos)
            throws IOException {
        this.channel = channel;
        this.wire = wire;
        this.mac = keys.receive();
        this.cipher = auth.sealsBlocks() ? keys.open() : null;
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
        return new RingWire.CallHeader(header.getInt(), header.getInt(), header.getInt(), header.getInt(), header.getInt());
    }

    /** What is done to each block of summed floats before it goes back into the slab, while it is in the cache. */
    @FunctionalInterface
    interface Finish {
        /** {@code values[0, len)}; those from {@code exact} on are the call's exact tail. */
        void apply(float[] values, int len, int exact);
    }

    /**
     * Receives {@code len} floats into {@code a[off, off+len)}: added to what is there ({@code add}, in
     * the order local + incoming that every rank would use for this chunk) or written over it; they come
     * in the wire format except from index {@code exact} on (fp32), each block finished by {@code finish}
     * (null: as is) and then reported to {@code done} (how many of the part are final). Bare fp32 written
     * over goes straight from the socket into the slab.
     */
    void receiveFloats(FloatSlab a, int off, int len, boolean add, int exact, Finish finish, IntConsumer done)
            throws IOException {
        for (int received = 0; received < len; ) {
            int k = Math.min(len - received, BLOCK_FLOATS);
            receiveBlock(a, off + received, k, add, exact, finish);
            received += k;
            done.accept(received);
        }
    }

    private void receiveBlock(FloatSlab a, int off, int k, boolean add, int exact, Finish finish) throws IOException {
        if (!add && finish == null && cipher == null && wire == WireFormat.FP32) {
            RingWire.readFully(channel, selector, a.bytes(off, k), timeoutNanos, peer);
            return;
        }
        int bytes = wire.bytes(off, k, exact);
        block = RingWire.atLeast(block, bytes, blockTag);
        block.clear().limit(bytes + blockTag);
        RingWire.readFully(channel, selector, block, timeoutNanos, peer);
        if (cipher != null) {
            cipher.open(block, bytes, "data from " + peer);
        }
        if (add) {
            a.get(off, mine, 0, k);
        }
        wire.decode(block.position(0).limit(bytes), mine, 0, k, exact - off, add, floats, halves);
        if (finish != null) {
            finish.apply(mine, k, exact - off);
        }
        a.put(off, mine, 0, k);
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
