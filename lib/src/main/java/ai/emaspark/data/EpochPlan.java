package ai.emaspark.data;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Who trains on what in one epoch: the samples shuffled by (RNG_SEED, epoch), then cut into equal
 * contiguous parts, one per rank, of whole batches only (pycls's drop_last), so every rank runs the
 * same number of iterations and the ring never waits on a rank that has run out. The dropped
 * remainder is handed out as each rank's reserve: it replaces images that fail to decode.
 */
public final class EpochPlan implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int iterations;
    private final List<List<Sample>> ranks;
    private final List<List<Sample>> reserves;

    private EpochPlan(int iterations, List<List<Sample>> ranks, List<List<Sample>> reserves) {
        this.iterations = iterations;
        this.ranks = ranks;
        this.reserves = reserves;
    }

    public static EpochPlan of(List<Sample> samples, long seed, int epoch, int world, int batchPerRank) {
        List<Sample> order = shuffled(samples, Seeds.mix(seed, epoch));
        int iterations = samples.size() / (world * batchPerRank);
        if (iterations == 0) {
            throw new DatasetException("the " + samples.size() + " training images do not fill one batch of "
                    + (world * batchPerRank) + " (TRAIN.BATCH_SIZE): lower TRAIN.BATCH_SIZE or add images");
        }
        int perRank = iterations * batchPerRank;
        List<List<Sample>> ranks = new ArrayList<>();
        List<List<Sample>> reserves = new ArrayList<>();
        for (int rank = 0; rank < world; rank++) {
            ranks.add(List.copyOf(order.subList(rank * perRank, (rank + 1) * perRank)));
            reserves.add(new ArrayList<>());
        }
        for (int i = world * perRank; i < order.size(); i++) {
            reserves.get((i - world * perRank) % world).add(order.get(i));
        }
        return new EpochPlan(iterations, ranks, reserves.stream().map(List::copyOf).toList());
    }

    /** Fisher-Yates with a seeded generator: the same seed gives the same order on any machine. */
    static List<Sample> shuffled(List<Sample> samples, long seed) {
        List<Sample> order = new ArrayList<>(samples);
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = order.size() - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            Sample swap = order.get(i);
            order.set(i, order.get(j));
            order.set(j, swap);
        }
        return order;
    }

    public int iterations() {
        return iterations;
    }

    public int worldSize() {
        return ranks.size();
    }

    public List<Sample> samples(int rank) {
        return ranks.get(rank);
    }

    public List<Sample> reserve(int rank) {
        return reserves.get(rank);
    }
}
