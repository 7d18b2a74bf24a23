package ai.emaspark.spark;

import ai.emaspark.checkpoint.TestErrors;
import ai.emaspark.config.Config;
import ai.emaspark.data.ShardPlan;
import ai.emaspark.ema.EmaBank;
import ai.emaspark.eval.EpochStats;
import ai.emaspark.eval.EvalCounts;
import ai.emaspark.eval.StatsLine;
import ai.emaspark.model.ModelState;
import ai.emaspark.train.PreciseBn;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What follows an epoch's training: pycls's precise BN statistics and test of the model and pycls's
 * EMA, and of the power EMAs in the epochs that test them (every EMA.EVAL_PERIOD tests; precise BN goes
 * with every EMA that is evaluated, in place, as pycls's goes with its EMA); their pycls stats lines.
 */
final class EpochEvaluation {
    private static final Logger LOG = LoggerFactory.getLogger(TrainDriver.class); // its lines are the driver's

    /** What one epoch's test gave: pycls's counts, the errors of each power EMA tested, the images skipped. */
    record Result(EvalCounts counts, Map<String, TestErrors> powerErrs, List<String> skipped) {}

    private final Config cfg;
    private final EvalStage stage;
    private final int maxEpoch;

    EpochEvaluation(Config cfg, EvalStage stage) {
        this.cfg = cfg;
        this.stage = stage;
        this.maxEpoch = cfg.getInt("OPTIM.MAX_EPOCH");
    }

    /** True when model and EMAs are tested after {@code epoch} (TRAIN.EVAL_PERIOD, and the last epoch). */
    boolean testsAfter(int epoch) {
        return (epoch + 1) % cfg.getInt("TRAIN.EVAL_PERIOD") == 0 || epoch + 1 == maxEpoch;
    }

    /** True when the power EMAs are tested (and so get precise BN) after {@code epoch}: every EMA.EVAL_PERIOD tests. */
    private boolean testsPowers(int epoch) {
        return testsAfter(epoch) && ((epoch + 1) % cfg.getInt("EMA.EVAL_PERIOD") == 0 || epoch + 1 == maxEpoch);
    }

    /** pycls's compute_precise_bn_stats for the model, pycls's EMA, and the power EMAs tested this epoch. */
    void preciseBn(JavaSparkContext jsc, int epoch, ShardPlan plan, List<String> shards, RunState state) {
        int world = cfg.getInt("NUM_GPUS");
        int perReplica = cfg.getInt("TRAIN.BATCH_SIZE") / world;
        int iterations = PreciseBn.iterations(cfg.getInt("BN.NUM_SAMPLES_PRECISE"), perReplica, world, plan.iterations());
        long start = System.nanoTime();
        List<ModelState> states = evaluated(epoch, state);
        set(epoch, state, stage.preciseBn(jsc, epoch, plan, shards, iterations, states));
        LOG.info("precise BN statistics of model and {} EMA(s) from {} images ({} batches x {} replicas) in {} s", states.size() - 1,
                (long) iterations * world * perReplica, iterations, world, String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9));
    }

    /** pycls's test_epoch for model and EMA, and a stats line of its own for each power EMA tested. */
    Result test(JavaSparkContext jsc, int epoch, RunState state, MetricsLog metrics) {
        long start = System.nanoTime();
        EvalTask.Result result = stage.test(jsc, evaluated(epoch, state));
        EvalCounts counts = result.modelAndEma();
        double seconds = (System.nanoTime() - start) / 1e9;
        metrics.add(testStats("test_epoch", epoch, counts.modelTop1Err(), counts.modelTop5Err(), seconds, metrics));
        metrics.add(testStats("test_ema_epoch", epoch, counts.emaTop1Err(), counts.emaTop5Err(), seconds, metrics));
        Map<String, TestErrors> powerErrs = new LinkedHashMap<>();
        if (testsPowers(epoch)) {
            for (int i = 0; i < state.emas.powers().size(); i++) {
                String name = state.emas.powers().get(i).name();
                double[] errs = result.errors(2 + i);
                metrics.add(testStats(powerStatsType(name), epoch, errs[0], errs[1], seconds, metrics));
                powerErrs.put(name, new TestErrors(epoch, errs[0], errs[1]));
            }
        }
        return new Result(counts, powerErrs, result.skipped());
    }

    /** The test stats line of a power EMA, e.g. test_ema_p0.050_epoch (pycls's EMA keeps test_ema_epoch). */
    static String powerStatsType(String name) {
        return "test_ema_" + name + "_epoch";
    }

    /** What precise BN and the test take after {@code epoch}: model, pycls's EMA, and the power EMAs when tested. */
    private List<ModelState> evaluated(int epoch, RunState state) {
        List<ModelState> states = new ArrayList<>(List.of(state.model, state.emas.pycls()));
        if (testsPowers(epoch)) {
            state.emas.powers().forEach(p -> states.add(p.state()));
        }
        return states;
    }

    /** Puts back states in {@link #evaluated}'s order. */
    private void set(int epoch, RunState state, List<ModelState> states) {
        state.model = states.get(0);
        List<EmaBank.Power> powers = new ArrayList<>(state.emas.powers());
        if (testsPowers(epoch)) {
            for (int i = 0; i < powers.size(); i++) {
                EmaBank.Power p = powers.get(i);
                powers.set(i, new EmaBank.Power(p.sigmaRel(), p.gamma(), states.get(2 + i)));
            }
        }
        state.emas = new EmaBank(states.get(1), powers, state.emas.updates());
    }

    private Map<String, Object> testStats(String type, int epoch, double top1, double top5, double seconds, MetricsLog metrics) {
        return EpochStats.test(type, epoch, maxEpoch, top1, top5, Math.min(top1, StatsLine.min(metrics.lines(), type, "top1_err")),
                Math.min(top5, StatsLine.min(metrics.lines(), type, "top5_err")), seconds);
    }
}
