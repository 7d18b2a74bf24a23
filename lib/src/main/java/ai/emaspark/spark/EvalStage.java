package ai.emaspark.spark;

import ai.emaspark.config.Config;
import ai.emaspark.data.Manifest;
import ai.emaspark.data.ShardPlan;
import ai.emaspark.model.ModelState;
import ai.emaspark.train.PreciseBn;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The Spark jobs between training and the checkpoint, over any list of states (the model, pycls's
 * EMA, the power EMAs evaluated this epoch): pycls's precise BN statistics and the test. Each state is
 * broadcast once per job and every image is decoded once for all of them.
 */
final class EvalStage {
    private final Config cfg;
    private final Manifest.Split val;
    private final String valDir;

    EvalStage(Config cfg, Manifest.Split val, String valDir) {
        this.cfg = cfg;
        this.val = val;
        this.valDir = valDir;
    }

    /** pycls's compute_precise_bn_stats for each state, averaged over NUM_GPUS replicas: the states with it. */
    List<ModelState> preciseBn(JavaSparkContext jsc, int epoch, ShardPlan plan, List<String> shards, int iterations,
            List<ModelState> states) {
        int world = cfg.getInt("NUM_GPUS");
        Broadcast<ArrayList<ModelState>> shared = jsc.broadcast(new ArrayList<>(states));
        try {
            List<PreciseBnTask.Result> results = jsc.parallelize(IntStream.range(0, world).boxed().toList(), world)
                    .mapPartitions(new SparkFunctions.PreciseBnPartition(cfg, plan, epoch, shards, iterations,
                            hadoop(jsc), shared)).collect();
            List<ModelState> out = new ArrayList<>();
            for (int i = 0; i < states.size(); i++) {
                int index = i;
                out.add(PreciseBn.apply(states.get(i), PreciseBn.average(results.stream().map(r -> r.statistics().get(index)).toList())));
            }
            return out;
        } finally {
            shared.destroy();
        }
    }

    /** Top-1 and top-5 hits of each state over the validation split. */
    EvalTask.Result test(JavaSparkContext jsc, List<ModelState> states) {
        Broadcast<ArrayList<ModelState>> shared = jsc.broadcast(new ArrayList<>(states));
        try {
            return jsc.parallelize(val.shards(), Math.min(cfg.getInt("NUM_GPUS"), val.shards().size()))
                    .mapPartitions(new SparkFunctions.EvalPartition(cfg, valDir, hadoop(jsc), shared)).collect().stream()
                    .reduce(EvalTask.Result.NONE, EvalTask.Result::plus);
        } finally {
            shared.destroy();
        }
    }

    private static Map<String, String> hadoop(JavaSparkContext jsc) {
        return HadoopSettings.of(jsc.getConf());
    }
}
