package ai.emaspark.spark;

import ai.emaspark.config.Config;
import ai.emaspark.data.Batch;
import ai.emaspark.data.BatchLoader;
import ai.emaspark.data.ImageTransform;
import ai.emaspark.data.ShardFeeds;
import ai.emaspark.data.ShardPlan;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.ModelState;
import ai.emaspark.train.PreciseBn;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;

/**
 * One replica's share of precise BN statistics: its first {@code iterations} training batches of the
 * epoch (the epoch plan and train transform, as pycls reuses its train loader), forwarded through each
 * of several states (the model, pycls's EMA, the power EMAs evaluated this epoch) with BN momentum 1.
 */
final class PreciseBnTask {
    /** The BN statistics of each state, in the order given. */
    record Result(List<float[]> statistics) implements Serializable {}

    private PreciseBnTask() {}

    static Result run(Config cfg, ShardPlan plan, int epoch, int rank, List<String> shards, int iterations,
                      Configuration conf, List<ModelState> states, TaskContext context) throws IOException {
        int batchSize = cfg.getInt("TRAIN.BATCH_SIZE") / plan.worldSize();
        int imSize = cfg.getInt("TRAIN.IM_SIZE");
        ModelSpec spec = ModelSpec.of(cfg).withBnMomentum(1.0);
        SgdSettings none = new SgdSettings(0, 0, false, 0);
        // Each batch is decoded once and forwarded through every state; memory stays the loader's.
        List<Replica> replicas = new ArrayList<>();
        try (BatchLoader loader = new BatchLoader(ShardFeeds.training(plan, rank, shards.stream().map(Path::new).toList(), conf),
                 true, batchSize, ImageTransform.train(imSize, cfg.getFloat("TRAIN.PCA_STD"), cfg.getInt("RNG_SEED"), epoch)
                     .withLimits(ai.emaspark.data.ImageLimits.ofPixels(cfg.getInt("DATA_LOADER.MAX_PIXELS"))),
                 cfg.getInt("DATA_LOADER.NUM_WORKERS"))) {
            List<PreciseBn> statistics = new ArrayList<>();
            for (ModelState state : states) {
                Replica replica = new Replica(spec, none, TaskDevices.of(context));
                replicas.add(replica);
                replica.load(state);
                statistics.add(new PreciseBn(replica, iterations));
            }
            Batch batch = Batch.allocate(batchSize, imSize);
            for (int i = 0; i < iterations; i++) {
                batch = loader.next(batch);
                for (PreciseBn s : statistics) {
                    s.add(batch);
                }
            }
            return new Result(statistics.stream().map(PreciseBn::statistics).toList());
        } finally {
            for (Replica replica : replicas) {
                replica.close();
            }
        }
    }
}
