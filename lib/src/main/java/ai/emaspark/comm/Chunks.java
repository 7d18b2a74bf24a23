package ai.emaspark.comm;

/**
 * Splits {@code length} elements into {@code parts} contiguous chunks whose sizes differ by at most one
 * (the first {@code length % parts} chunks get the extra element). Chunks may be empty when
 * {@code length < parts}.
 */
final class Chunks {
    private final int base;
    private final int extra;

    Chunks(int length, int parts) {
        if (length < 0 || parts <= 0) {
            throw new IllegalArgumentException("length=" + length + ", parts=" + parts);
        }
        this.base = length / parts;
        this.extra = length % parts;
    }

    /** First index of chunk {@code c}. */
    int start(int c) {
        return c * base + Math.min(c, extra);
    }

    /** Number of elements in chunk {@code c}. */
    int size(int c) {
        return base + (c < extra ? 1 : 0);
    }

    /** The chunk holding element {@code i} (0 &lt;= i &lt; length). */
    int indexOf(int i) {
        int big = extra * (base + 1); // the first chunks, one element longer
        return i < big ? i / (base + 1) : extra + (i - big) / base;
    }
}
