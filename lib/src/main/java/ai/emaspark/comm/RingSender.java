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

/**
 * A rank's link to the next rank, as its sender thread uses it: call headers (with their MAC) and blocks
 * of floats, sealed with AES-256-GCM ({@link RingAuth#sealsBlocks}) or bare.
 */
final class RingSender implements AutoCloseable {
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
    private final float[] piece = new float[BLOCK_FLOATS]; // a block's floats on their way into the wire format
    private final short[] halves = new short[BLOCK_FLOATS]; // a block in bf16, before it goes into the buffer

    /** Takes over {@code channel} (made non-blocking); on failure closes only what it opened itself. */
    RingSender(SocketChannel channel, Handshake.Session keys, RingAuth auth, WireFormat wire, String peer, long timeoutNanos)
            throws IOException {
        this.channel = channel;
        this.wire = wire;
        this.mac = keys.send();
        this.cipher = auth.sealsBlocks() ? keys.seal() : null;
        this.blockTag = RingWire.blockTagBytes(auth);
        this.peer = peer;
        this.timeoutNanos = timeoutNanos;
        this.selector = RingWire.selector(channel, SelectionKey.OP_WRITE);
    }

    void sendHeader(RingWire.CallHeader call) throws IOException {
        header.clear();
        header.putInt(call.magic()).putInt(call.op()).putInt(call.length()).putInt(call.exact()).putInt(call.call()).flip();
        byte[] tag = mac.update(header).tag();
        header.limit(HEADER_BYTES + TAG_BYTES).position(HEADER_BYTES);
        header.put(tag).flip();
        RingWire.writeFully(channel, selector, header, timeoutNanos, peer);
    }

    /** What a send waits for before each block: the floats of its part up to there being final here. */
    @FunctionalInterface
    interface Ready {
        /** Returns once the first {@code upTo} floats of the part are final. */
        void await(int upTo) throws IOException;
    }

    /**
     * Sends {@code a[off, off+len)} in blocks of at most {@link RingWire#BLOCK_FLOATS}, in the wire format
     * except from index {@code exact} on (fp32), each once {@code ready} says it is final. Bare fp32 goes
     * straight from the slab to the socket.
     */
    void sendFloats(FloatSlab a, int off, int len, int exact, Ready ready) throws IOException {
        for (int sent = 0; sent < len; ) {
            int k = Math.min(len - sent, BLOCK_FLOATS);
            ready.await(sent + k);
            sendBlock(a, off + sent, k, exact);
            sent += k;
        }
    }

    private void sendBlock(FloatSlab a, int off, int k, int exact) throws IOException {
        if (cipher == null && wire == WireFormat.FP32) {
            RingWire.writeFully(channel, selector, a.bytes(off, k), timeoutNanos, peer);
            return;
        }
        int bytes = wire.bytes(off, k, exact);
        block = RingWire.atLeast(block, bytes, blockTag);
        block.clear();
        a.get(off, piece, 0, k);
        wire.encode(piece, 0, k, exact - off, block, halves);
        block.limit(bytes);
        if (cipher != null) {
            block.limit(cipher.seal(block, bytes)).position(0);
        }
        RingWire.writeFully(channel, selector, block, timeoutNanos, peer);
    }

    /** Selector first: that wakes a thread blocked in select and lets the channel close at once. */
    @Override
    public void close() {
        RingConnector.closeQuietly(selector);
        RingConnector.closeQuietly(channel);
    }
}
