package ai.emaspark.comm;

import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * How the floats of an all-reduce travel between two ranks: as they are ({@link #FP32}), or rounded to
 * bfloat16 ({@link #BF16}, round to nearest even, half the bytes). Sums stay in fp32 on every rank and
 * are made in the ring's fixed order; only what crosses a link is rounded, and the owner of a chunk
 * rounds its own finished values the same way ({@link #round}), so every rank still ends with the very
 * same bits, and a run repeats them.
 */
public enum WireFormat {
    FP32(4), BF16(2);

    private final int bytesPerFloat;

    WireFormat(int bytesPerFloat) {
        this.bytesPerFloat = bytesPerFloat;
    }

    /** "fp32" or "bf16", as the setting spells it; anything else is refused with the choices. */
    public static WireFormat parse(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "fp32" -> FP32;
            case "bf16" -> BF16;
            default -> throw new IllegalArgumentException("wire format '" + name + "' is not one of fp32, bf16");
        };
    }

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Bytes on the wire for {@code a[off, off+len)} when elements from {@code exact} on travel as fp32
     * whatever the format (a call's trailing stats: the loss and errors stay exact).
     */
    int bytes(int off, int len, int exact) {
        int rounded = rounded(off, len, exact);
        return bytesPerFloat * rounded + 4 * (len - rounded);
    }

    /** How many of {@code a[off, off+len)} come before {@code exact}. */
    private static int rounded(int off, int len, int exact) {
        return Math.max(0, Math.min(len, exact - off));
    }

    /** The bfloat16 nearest to {@code f} (ties to even), as its 16 bits; NaN stays NaN, overflow becomes infinity. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40); // a quiet NaN: rounding could carry a signalling one into infinity
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    static float fromBf16(short b) {
        return Float.intBitsToFloat(b << 16);
    }

    /**
     * Rounds {@code a[off, off+len)} (before {@code exact}) in place to what a receiver decodes: a chunk's
     * owner keeps the bits the others get.
     */
    void round(float[] a, int off, int len, int exact) {
        if (this == BF16) {
            for (int i = off, end = off + rounded(off, len, exact); i < end; i++) {
                a[i] = fromBf16(toBf16(a[i]));
            }
        }
    }

    /** Writes {@code a[off, off+len)} from {@code dst}'s position 0 ({@code scratch}: at least len shorts, for bf16). */
    void encode(float[] a, int off, int len, int exact, ByteBuffer dst, short[] scratch) {
        int rounded = this == FP32 ? 0 : rounded(off, len, exact);
        for (int i = 0; i < rounded; i++) {
            scratch[i] = toBf16(a[off + i]);
        }
        dst.asShortBuffer().put(scratch, 0, rounded);
        dst.position(2 * rounded).asFloatBuffer().put(a, off + rounded, len - rounded);
        dst.position(0);
    }

    /**
     * Reads {@code len} floats from {@code src}'s position 0 into {@code a[off, off+len)}, added to what
     * is there ({@code add}: local + incoming, the order every rank uses) or written over it; {@code
     * floats} and {@code shorts} are scratch of at least len.
     */
    void decode(ByteBuffer src, float[] a, int off, int len, int exact, boolean add, float[] floats, short[] shorts) {
        int rounded = this == FP32 ? 0 : rounded(off, len, exact);
        src.asShortBuffer().get(shorts, 0, rounded);
        if (add) {
            for (int i = 0; i < rounded; i++) {
                a[off + i] += fromBf16(shorts[i]);
            }
        } else {
            for (int i = 0; i < rounded; i++) {
                a[off + i] = fromBf16(shorts[i]);
            }
        }
        int rest = len - rounded;
        src.position(2 * rounded);
        if (add) {
            src.asFloatBuffer().get(floats, 0, rest);
            for (int i = 0; i < rest; i++) {
                a[off + rounded + i] += floats[i];
            }
        } else {
            src.asFloatBuffer().get(a, off + rounded, rest);
        }
        src.position(0);
    }
}
