package ai.emaspark.comm;

/**
 * How a buffer of {@code length} floats is exchanged in {@code count} passes over a ring of {@code world}
 * ranks: the buffer is split into the ring's chunks as one pass would split it, and bucket b is the b-th
 * of {@code count} slices of every chunk. Every element stays in its chunk, so it is summed starting at
 * the same rank, in the same order, as in one pass: the bits do not depend on the number of buckets.
 */
public final class Buckets {
    private final Chunks chunks;
    private final int world;
    private final int count;

    public Buckets(int length, int world, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("buckets=" + count);
        }
        this.chunks = new Chunks(length, world);
        this.world = world;
        this.count = count;
    }

    public int count() {
        return count;
    }

    /** First index of chunk {@code c}'s slice in bucket {@code b} (0 &lt;= c &lt; {@link #world()}). */
    public int start(int c, int b) {
        return chunks.start(c) + new Chunks(chunks.size(c), count).start(b);
    }

    /** Elements of chunk {@code c}'s slice in bucket {@code b}. */
    public int size(int c, int b) {
        return new Chunks(chunks.size(c), count).size(b);
    }

    /** The last bucket holding any of [offset, offset + length): once it is exchanged, that range is final. */
    public int lastBucketOf(int offset, int length) {
        if (length == 0) {
            return 0;
        }
        int end = offset + length - 1;
        int last = 0;
        for (int c = chunks.indexOf(offset); c <= chunks.indexOf(end); c++) {
            int lastInChunk = Math.min(end, chunks.start(c) + chunks.size(c) - 1);
            last = Math.max(last, new Chunks(chunks.size(c), count).indexOf(lastInChunk - chunks.start(c)));
        }
        return last;
    }

    /** The ring's ranks: a bucket has one slice in each of their chunks. */
    public int world() {
        return world;
    }
}
