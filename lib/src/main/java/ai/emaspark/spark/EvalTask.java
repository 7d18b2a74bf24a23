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
 * Evaluates several states (the model, pycls's EMA, the power EMAs) on some validation shards: each
 * image is decoded once and scored by every one. Returns the hit counts and the files it had to skip.
 */
final class EvalTask {
    /** Images scored, and top-1 and top-5 hits of each state, in the order given. */
    record Result(long images, long[] top1, long[] top5, List<String> skipped) implements Serializable {
        static final Result NONE = new Result(0, new long[0], new long[0], List.of());

        Result plus(Result other) {
            if (top1.length == 0) {
                return other;
            }
            long[] t1 = top1.clone();
            long[] t5 = top5.clone();
            for (int i = 0; i < t1.length; i++) {
                t1[i] += other.top1[i];
                t5[i] += other.top5[i];
            }
            List<String> all = new java.util.ArrayList<>(skipped);
            all.addAll(other.skipped);
            return new Result(images + other.images, t1, t5, all);
        }

        /** Model and pycls's EMA, states 0 and 1, as pycls reports them. */
        EvalCounts modelAndEma() {
            return new EvalCounts(images, top1[0], top5[0], top1[1], top5[1]);
        }

        /** Top-1 and top-5 error (percent, 100 when nothing was scored) of state {@code i}. */
        double[] errors(int i) {
            EvalCounts counts = new EvalCounts(images, top1[i], top5[i], 0, 0);
            return new double[] {counts.modelTop1Err(), counts.modelTop5Err()};
        }
    }

    private EvalTask() {}

    /** Evaluates every row of {@code shards} ({@code rows[i]} rows each) with each of {@code states}. */
    static Result run(Config cfg, List<String> shards, long[] rows, Configuration conf, List<ModelState> states,
            TaskContext context) throws IOException {
        int batchSize = Math.max(1, cfg.getInt("TEST.BATCH_SIZE") / cfg.getInt("NUM_GPUS"));
        int imSize = cfg.getInt("TRAIN.IM_SIZE");
        ModelSpec spec = ModelSpec.of(cfg);
        SgdSettings none = new SgdSettings(0, 0, false, 0);
        long images = 0;
        long[] top1 = new long[states.size()];
        long[] top5 = new long[states.size()];
        List<Replica> replicas = new java.util.ArrayList<>();
        try (BatchLoader loader = new BatchLoader(
                ShardFeeds.whole(shards.stream().map(org.apache.hadoop.fs.Path::new).toList(), rows, conf),
                false, batchSize, ImageTransform.test(imSize, cfg.getInt("TEST.IM_SIZE"))
                .withLimits(ai.emaspark.data.ImageLimits.ofPixels(cfg.getInt("DATA_LOADER.MAX_PIXELS"))),
                cfg.getInt("DATA_LOADER.NUM_WORKERS"))) {
            for (ModelState state : states) {
                Replica replica = new Replica(spec, none, TaskDevices.of(context));
                replicas.add(replica);
                replica.load(state);
            }
            Batch batch = Batch.allocate(batchSize, imSize);
            while (true) {
                batch = loader.next(batch);
                if (batch.count() == 0) {
                    break;
                }
                images += batch.count();
                for (int i = 0; i < replicas.size(); i++) {
                    int[] hits = replicas.get(i).evaluate(batch);
                    top1[i] += hits[0];
                    top5[i] += hits[1];
                }
            }
            return new Result(images, top1, top5, loader.skipped());
        } finally {
            for (Replica replica : replicas) {
                replica.close();
            }
        }
    }
}
