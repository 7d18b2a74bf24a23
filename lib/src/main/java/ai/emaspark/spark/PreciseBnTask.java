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
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;

/**
 * One replica's share of precise BN statistics: its first {@code iterations} training batches of the
 * epoch (the epoch plan and train transform, as pycls reuses its train loader), forwarded through the
 * model and through the EMA with BN momentum 1.
 */
final class PreciseBnTask {
    record Result(float[] model, float[] ema) implements Serializable {}

    private PreciseBnTask() {}

    static Result run(Config cfg, ShardPlan plan, int epoch, int rank, List<String> shards, int iterations,
                      Configuration conf, ModelState model, ModelState ema, TaskContext context) throws IOException {
        int batchSize = cfg.getInt("TRAIN.BATCH_SIZE") / plan.worldSize();
        int imSize = cfg.getInt("TRAIN.IM_SIZE");
        ModelSpec spec = ModelSpec.of(cfg).withBnMomentum(1.0);
        SgdSettings none = new SgdSettings(0, 0, false, 0);
        // Each batch is decoded once and forwarded through both; memory stays the loader's.
        try (Replica modelReplica = new Replica(spec, none, TaskDevices.of(context));
             Replica emaReplica = new Replica(spec, none, TaskDevices.of(context));
             BatchLoader loader = new BatchLoader(ShardFeeds.training(plan, rank, shards.stream().map(Path::new).toList(), conf),
                 true, batchSize, ImageTransform.train(imSize, cfg.getFloat("TRAIN.PCA_STD"), cfg.getInt("RNG_SEED"), epoch)
                     .withLimits(ai.emaspark.data.ImageLimits.ofPixels(cfg.getInt("DATA_LOADER.MAX_PIXELS"))),
                 cfg.getInt("DATA_LOADER.NUM_WORKERS"))) {
            modelReplica.load(model);
            emaReplica.load(ema);
            PreciseBn modelStatistics = new PreciseBn(modelReplica, iterations);
            PreciseBn emaStatistics = new PreciseBn(emaReplica, iterations);
            Batch batch = Batch.allocate(batchSize, imSize);
            for (int i = 0; i < iterations; i++) {
                batch = loader.next(batch);
                modelStatistics.add(batch);
                emaStatistics.add(batch);
            }
            return new Result(modelStatistics.statistics(), emaStatistics.statistics());
        }
    }
}
