package ai.emaspark.comm;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * Floats in direct, little-endian memory, as the ring moves them: a socket writes a slice of it and
 * reads into one with no copy on either side (a Java array would go through a temporary direct buffer
 * each way), which is most of the CPU an exchange costs once the kernel's own copy is paid.
 */
public final class FloatSlab {
    private final ByteBuffer bytes;
    private final FloatBuffer floats;

    private FloatSlab(int length) {
        this.bytes = ByteBuffer.allocateDirect(4 * length).order(RingWire.ORDER);
        this.floats = bytes.asFloatBuffer();
    }

    public static FloatSlab allocate(int length) {
        return new FloatSlab(length);
    }

    public int length() {
        return floats.capacity();
    }

    public float get(int i) {
        return floats.get(i);
    }

    public void put(int i, float value) {
        floats.put(i, value);
    }

    /** The floats as a buffer over the same memory (absolute gets and puts; its position is the caller's). */
    public FloatBuffer floats() {
        return floats.duplicate();
    }

    /** Copies {@code values[from, from+n)} in at {@code at}. */
    public void put(int at, float[] values, int from, int n) {
        floats.put(at, values, from, n);
    }

    /** Copies {@code [at, at+n)} out into {@code values[to, to+n)}. */
    public void get(int at, float[] values, int to, int n) {
        floats.get(at, values, to, n);
    }

    /** Fills {@code [from, to)} with {@code value}. */
    public void fill(int from, int to, float value) {
        for (int i = from; i < to; i++) {
            floats.put(i, value);
        }
    }

    /** The bytes of floats [off, off+len), for a channel to write or read in place. */
    ByteBuffer bytes(int off, int len) {
        return bytes.duplicate().position(4 * off).limit(4 * (off + len));
    }
}
