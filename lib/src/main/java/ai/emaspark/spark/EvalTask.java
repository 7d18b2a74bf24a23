package ai.emaspark.spark;

import ai.emaspark.config.Config;
import ai.emaspark.data.Batch;
import ai.emaspark.data.BatchLoader;
import ai.emaspark.data.ShardFeeds;
import ai.emaspark.data.ImageTransform;
import ai.emaspark.eval.EvalCounts;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.ModelState;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.TaskContext;

/**
 * Evaluates the model and the EMA on some validation shards: each image is decoded
 * once and scored by both. Returns the hit counts and the files it had to skip.
 */
final class EvalTask {
    record Result(EvalCounts counts, List<String> skipped) implements Serializable {}

    private EvalTask() {}

    /** Evaluates every row of {@code shards} ({@code rows[i]} rows each). */
    static Result run(Config cfg, List<String> shards, long[] rows, Configuration conf, ModelState model, ModelState ema,
            TaskContext context)
            throws IOException {
        int batchSize = Math.max(1, cfg.getInt("TEST.BATCH_SIZE") / cfg.getInt("NUM_GPUS"));
        int imSize = cfg.getInt("TRAIN.IM_SIZE");
        ModelSpec spec = ModelSpec.of(cfg);
        SgdSettings none = new SgdSettings(0, 0, false, 0);
        EvalCounts counts = EvalCounts.ZERO;
        try (Replica modelReplica = new Replica(spec, none, TaskDevices.of(context));
                Replica emaReplica = new Replica(spec, none, TaskDevices.of(context));
                BatchLoader loader = new BatchLoader(
                        ShardFeeds.whole(shards.stream().map(org.apache.hadoop.fs.Path::new).toList(), rows, conf),
                        false, batchSize, ImageTransform.test(imSize, cfg.getInt("TEST.IM_SIZE"))
                        .withLimits(ai.emaspark.data.ImageLimits.ofPixels(cfg.getInt("DATA_LOADER.MAX_PIXELS"))), cfg.getInt("DATA_LOADER.NUM_WORKERS"))) {
            modelReplica.load(model);
            emaReplica.load(ema);
            Batch batch = Batch.allocate(batchSize, imSize);
            while (true) {
                batch = loader.next(batch);
                if (batch.count() == 0) {
                    break;
                }
                int[] modelHits = modelReplica.evaluate(batch);
                int[] emaHits = emaReplica.evaluate(batch);
                counts = counts.plus(new EvalCounts(batch.count(), modelHits[0], modelHits[1], emaHits[0], emaHits[1]));
            }
            return new Result(counts, loader.skipped());
        }
    }
}
