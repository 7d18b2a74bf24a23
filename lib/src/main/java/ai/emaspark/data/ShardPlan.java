package ai.emaspark.data;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One epoch's reading plan over prepared shards, computed from the shard row counts alone.
 * (RNG_SEED, epoch) shuffles the shard order; the rows of the shards in that order form one
 * sequence, cut into equal contiguous parts of whole batches, one per rank (the remainder, as
 * pycls's drop_last, is each rank's reserve for rows that fail to decode). Each rank's part is read
 * in windows of at most {@code window} consecutive rows of one shard, each window in its own seeded
 * order: sequential reads, bounded memory, and a plan that any iteration can resume from.
 */
public final class ShardPlan implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Rows [from, to) of one shard, visited in {@code order} (offsets from {@code from}). */
    public record Window(int shard, int from, int to, int[] order) implements Serializable {
        public int size() {
            return to - from;
        }
    }

    private final long[] shardRows;
    private final long seed;
    private final int epoch;
    private final int world;
    private final int batchPerRank;
    private final int window;
    private final int[] shardOrder;
    private final int iterations;

    private ShardPlan(long[] shardRows, long seed, int epoch, int world, int batchPerRank, int window) {
        this.shardRows = shardRows.clone();
        this.seed = seed;
        this.epoch = epoch;
        this.world = world;
        this.batchPerRank = batchPerRank;
        this.window = window;
        this.shardOrder = shuffledOrder(shardRows.length, Seeds.mix(seed, epoch));
        long total = totalRows();
        this.iterations = (int) (total / ((long) world * batchPerRank));
        if (iterations == 0) {
            throw new DatasetException("the " + total + " training images do not fill one batch of "
                    + (world * batchPerRank) + " (TRAIN.BATCH_SIZE): lower TRAIN.BATCH_SIZE or add images");
        }
    }

    public static ShardPlan of(long[] shardRows, long seed, int epoch, int world, int batchPerRank, int window) {
        return new ShardPlan(shardRows, seed, epoch, world, batchPerRank, window);
    }

    public int iterations() {
        return iterations;
    }

    public int worldSize() {
        return world;
    }

    /** The windows of {@code rank}'s training part, in reading order. */
    public List<Window> windows(int rank) {
        long perRank = (long) iterations * batchPerRank;
        return windowsOf(rank * perRank, (rank + 1) * perRank, rank);
    }

    /** The rank's share of the dropped remainder: replacements for rows that fail to decode. */
    public List<Window> reserve(int rank) {
        long used = (long) iterations * batchPerRank * world;
        long share = (totalRows() - used) / world;
        long start = used + rank * share;
        return windowsOf(start, start + share, world + rank);
    }

    private long totalRows() {
        long total = 0;
        for (long rows : shardRows) {
            total += rows;
        }
        return total;
    }

    /** Windows covering positions [start, end) of the epoch's row sequence. */
    private List<Window> windowsOf(long start, long end, int stream) {
        List<Window> windows = new ArrayList<>();
        long shardStart = 0;
        for (int shard : shardOrder) {
            long shardEnd = shardStart + shardRows[shard];
            long from = Math.max(start, shardStart);
            long to = Math.min(end, shardEnd);
            for (long w = from; w < to; w += window) {
                int lo = (int) (w - shardStart);
                int hi = (int) (Math.min(to, w + window) - shardStart);
                int[] order = shuffledOrder(hi - lo, Seeds.mix(seed, epoch, stream, shard, lo));
                windows.add(new Window(shard, lo, hi, order));
            }
            shardStart = shardEnd;
        }
        return windows;
    }

    static int[] shuffledOrder(int n, long seed) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        return order;
    }
}
