package ai.emaspark.eval;

import java.util.LinkedHashMap;
import java.util.Map;

/** pycls's epoch json_stats: {@code train_epoch}, {@code test_epoch} and {@code test_ema_epoch}. */
public final class EpochStats {
    private EpochStats() {}

    /** Averages over the epoch's iterations; {@code timeAvg} is one iteration's mean wall time on rank 0. */
    /** pycls's train_epoch stats, with where rank 0's steps spent their time ({@code times}). */
    public static Map<String, Object> train(int epoch, int maxEpoch, int iters, double lr, double loss, double top1Err,
            double top5Err, double timeEpoch, double timeAvg, StepTimes times) {
        Map<String, Object> stats = train(epoch, maxEpoch, iters, lr, loss, top1Err, top5Err, timeEpoch, timeAvg);
        stats.putAll(times.perIteration());
        return stats;
    }

    public static Map<String, Object> train(int epoch, int maxEpoch, int iters, double lr, double loss, double top1Err,
            double top5Err, double timeEpoch, double timeAvg) {
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("_type", "train_epoch");
        stats.put("epoch", JsonStats.epochLabel(epoch, maxEpoch));
        stats.put("iters", iters);
        stats.put("lr", lr);
        stats.put("loss", loss);
        stats.put("top1_err", top1Err);
        stats.put("top5_err", top5Err);
        stats.put("time_epoch", timeEpoch);
        stats.put("time_avg", timeAvg);
        return stats;
    }

    /**
     * @param type "test_epoch" (the model) or "test_ema_epoch"
     * @param minTop1Err the best top-1 error so far, this epoch included (pycls's min_top1_err)
     */
    public static Map<String, Object> test(String type, int epoch, int maxEpoch, double top1Err, double top5Err,
            double minTop1Err, double minTop5Err, double timeEpoch) {
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("_type", type);
        stats.put("epoch", JsonStats.epochLabel(epoch, maxEpoch));
        stats.put("top1_err", top1Err);
        stats.put("top5_err", top5Err);
        stats.put("min_top1_err", minTop1Err);
        stats.put("min_top5_err", minTop5Err);
        stats.put("time_epoch", timeEpoch);
        return stats;
    }
}
