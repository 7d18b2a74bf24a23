package ai.emaspark.train;

import ai.emaspark.data.Batch;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.ModelTensors;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * pycls's precise BN statistics ({@code net.compute_precise_bn_stats}): with BN momentum 1, each
 * training-mode forward leaves one batch's mean and (unbiased) variance in every BN layer's running
 * statistics; their average over a replica's batches, then over all replicas, replaces the running
 * statistics of the model (and, separately, of the EMA) before evaluation.
 */
public final class PreciseBn {
    private final Replica replica;
    private final List<Integer> indices;
    private final float[] sums;
    private final int iterations;

    /**
     * Accumulates one replica's share over {@code iterations} batches. {@code replica} must have been built
     * with BN momentum 1 ({@link ai.emaspark.model.ModelSpec#withBnMomentum}) and hold the weights whose
     * statistics are wanted.
     */
    public PreciseBn(Replica replica, int iterations) {
        this.replica = replica;
        this.indices = statisticTensors(replica.tensors().layout());
        this.sums = new float[statisticCount(replica.tensors().layout(), indices)];
        this.iterations = iterations;
    }

    /** Forwards one batch in training mode and adds its BN statistics, each divided by the iteration count. */
    public void add(Batch batch) {
        replica.forwardTraining(batch);
        ModelTensors tensors = replica.tensors();
        int at = 0;
        for (int index : indices) {
            float[] values = tensors.readTensor(index);
            for (int j = 0; j < values.length; j++) {
                sums[at + j] += values[j] / iterations; // pycls: running_means[i] += bn.running_mean / num_iter
            }
            at += values.length;
        }
    }

    /** The mean over the batches added of every BN layer's batch statistics, concatenated in layout order. */
    public float[] statistics() {
        return sums.clone();
    }

    /** pycls: int(NUM_SAMPLES_PRECISE / per-replica batch / NUM_GPUS), at most the batches a replica has. */
    public static int iterations(int numSamples, int replicaBatch, int world, int batchesPerReplica) {
        return Math.min(numSamples / replicaBatch / world, batchesPerReplica);
    }

    /** Indices of the BN running_mean and running_var tensors, in layout order. */
    static List<Integer> statisticTensors(StateLayout layout) {
        List<Integer> indices = new ArrayList<>();
        for (int i = 0; i < layout.tensors().size(); i++) {
            TensorSpec.Role role = layout.tensor(i).role();
            if (role == TensorSpec.Role.BN_RUNNING_MEAN || role == TensorSpec.Role.BN_RUNNING_VAR) {
                indices.add(i);
            }
        }
        return indices;
    }

    /** This replica's share for the weights in {@code state} over {@code batches} (see the constructor). */
    public static float[] statistics(Replica replica, ModelState state, List<Batch> batches) {
        replica.load(state);
        PreciseBn preciseBn = new PreciseBn(replica, batches.size());
        batches.forEach(preciseBn::add);
        return preciseBn.statistics();
    }

    /** pycls's scaled_all_reduce: the mean over replicas. */
    public static float[] average(List<float[]> perReplica) {
        float[] mean = new float[perReplica.get(0).length];
        for (float[] share : perReplica) {
            for (int j = 0; j < mean.length; j++) {
                mean[j] += share[j];
            }
        }
        for (int j = 0; j < mean.length; j++) {
            mean[j] /= perReplica.size();
        }
        return mean;
    }

    /** A copy of {@code state} with the BN running statistics replaced by {@code statistics}. */
    public static ModelState apply(ModelState state, float[] statistics) {
        StateLayout layout = state.layout();
        List<Integer> indices = statisticTensors(layout);
        int expected = statisticCount(layout, indices);
        if (statistics.length != expected) {
            throw new IllegalArgumentException(
                "BN statistics of another model: " + statistics.length + " values, " + expected + " expected");
        }
        ModelState out = state.copy();
        int at = 0;
        for (int index : indices) {
            int size = layout.tensor(index).size();
            System.arraycopy(statistics, at, out.floats(), layout.offset(index), size);
            at += size;
        }
        return out;
    }

    private static int statisticCount(StateLayout layout, List<Integer> indices) {
        int count = 0;
        for (int index : indices) {
            count += layout.tensor(index).size();
        }
        return count;
    }
}
