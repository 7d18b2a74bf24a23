package ai.emaspark.spark;

import ai.emaspark.comm.Buckets;
import ai.emaspark.comm.FloatSlab;
import ai.emaspark.comm.RingAllReduce;
import ai.emaspark.model.StateLayout;
import ai.emaspark.train.Replica;
import ai.emaspark.train.TrainingDivergedException;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One iteration's gradient exchange and SGD step, bucket by bucket ({@code spark.emaspark.ring.buckets}):
 * while bucket b travels round the ring, the calling thread copies bucket b+1's gradients out of the
 * engine, and once b is averaged it steps the tensors b completes, so copy, exchange and step overlap.
 * The exchange's bits are those of one pass for any number of buckets, and so are the weights.
 */
final class BucketedStep {
    private final Replica replica;
    private final RingAllReduce ring;
    private final Buckets buckets;
    private final int gradientCount;
    private final int stats;
    private final boolean wholeCopy; // a GPU: each read is a device-to-host copy of whole tensors, so read them once
    private final int[][] tensorsOf; // the trainable tensors whose gradients are final once bucket b is
    private final int statsBucket; // the bucket holding the stats (loss, errors) after the gradients
    private long fillNanos;
    private long stepNanos;

    /** @param stats how many floats after the gradients carry the replicas' stats (exact on any wire) */
    BucketedStep(Replica replica, RingAllReduce ring, int count, int gradientCount, int stats, boolean wholeCopy) {
        this.replica = replica;
        this.ring = ring;
        this.gradientCount = gradientCount;
        this.stats = stats;
        this.wholeCopy = wholeCopy;
        this.buckets = ring.buckets(gradientCount + stats, count);
        StateLayout layout = replica.tensors().layout();
        List<List<Integer>> byBucket = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            byBucket.add(new ArrayList<>());
        }
        for (int i = 0; i < layout.tensors().size(); i++) {
            int offset = layout.gradientOffset(i);
            if (offset >= 0) {
                byBucket.get(buckets.lastBucketOf(offset, layout.tensor(i).size())).add(i);
            }
        }
        this.tensorsOf = byBucket.stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
        this.statsBucket = buckets.lastBucketOf(gradientCount, stats);
    }

    /** What to do to the gradients just copied out of [from, to) (fault injection); usually nothing. */
    interface Tamper {
        void apply(FloatSlab exchange, int from, int to);
    }

    /**
     * Fills {@code exchange} with the gradients (its stats already written), averages it over the ring
     * and steps the replica at {@code lr}; a non-finite mean loss stops every rank at this iteration
     * ({@code where} names it). {@link Replica#endStep} is the caller's.
     */
    void run(FloatSlab exchange, double lr, String where, Tamper tamper) throws IOException {
        fillNanos = 0;
        stepNanos = 0;
        FloatBuffer floats = exchange.floats();
        ring.allReduceMean(exchange, stats, buckets.count(), b -> {
            long start = System.nanoTime();
            if (wholeCopy) {
                if (b == 0) {
                    replica.readGradients(floats, 0, gradientCount); // every tensor once
                    tamper.apply(exchange, 0, gradientCount);
                }
            } else {
                for (int c = 0; c < buckets.world(); c++) {
                    int from = Math.min(buckets.start(c, b), gradientCount);
                    int to = Math.min(from + buckets.size(c, b), gradientCount);
                    replica.readGradients(floats, from, to);
                    tamper.apply(exchange, from, to);
                }
            }
            fillNanos += System.nanoTime() - start;
        }, b -> {
            float loss = exchange.get(gradientCount);
            if (b == statsBucket && !Float.isFinite(loss)) {
                throw new TrainingDivergedException(loss, where, lr);
            }
            long start = System.nanoTime();
            replica.stepTensors(floats, lr, tensorsOf[b]);
            stepNanos += System.nanoTime() - start;
        });
    }

    /** Nanoseconds the last {@link #run} spent copying gradients out, on the calling thread. */
    long fillNanos() {
        return fillNanos;
    }

    /** Nanoseconds the last {@link #run} spent stepping, on the calling thread. */
    long stepNanos() {
        return stepNanos;
    }
}
