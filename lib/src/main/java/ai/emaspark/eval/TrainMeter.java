package ai.emaspark.eval;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * pycls's TrainMeter for one epoch of rank 0: window medians of loss and errors over LOG_PERIOD
 * iterations, the iteration timer, and the {@code train_iter} stats with pycls's keys (epoch, iter,
 * time_avg, time_diff, eta, loss, top1_err, top5_err, lr) plus what operators of a long epoch ask
 * for: images per second, and the time left in the epoch.
 */
public final class TrainMeter {
    private final int epoch;
    private final int maxEpoch;
    private final int epochIters;
    private final int globalBatch;
    private final int logPeriod;
    private final ScalarMeter loss;
    private final ScalarMeter top1;
    private final ScalarMeter top5;
    private double lr;
    private double timeDiff;
    private double timeTotal;
    private int iters;
    private StepTimes logged = new StepTimes(); // the step times when the previous line was logged

    /** @param globalBatch images per iteration over all replicas (TRAIN.BATCH_SIZE) */
    public TrainMeter(int epoch, int maxEpoch, int epochIters, int globalBatch, int logPeriod) {
        this.epoch = epoch;
        this.maxEpoch = maxEpoch;
        this.epochIters = epochIters;
        this.globalBatch = globalBatch;
        this.logPeriod = logPeriod;
        this.loss = new ScalarMeter(logPeriod);
        this.top1 = new ScalarMeter(logPeriod);
        this.top5 = new ScalarMeter(logPeriod);
    }

    /** One iteration done: its averaged stats and its wall time (data wait included, as pycls's timer). */
    public void update(double lossValue, double top1Err, double top5Err, double lrValue, double seconds) {
        loss.add(lossValue);
        top1.add(top1Err);
        top5.add(top5Err);
        lr = lrValue;
        timeDiff = seconds;
        timeTotal += seconds;
        iters++;
    }

    /** Whether iteration {@code iter} (from 0) is one whose stats are logged: every LOG_PERIOD-th. */
    public boolean logsAt(int iter) {
        return (iter + 1) % logPeriod == 0;
    }

    /**
     * pycls's get_iter_stats after iteration {@code iter} (from 0) of the epoch, as a json_stats map, with
     * where the iterations since the previous line spent their time ({@code times}: the epoch's so far).
     */
    public Map<String, Object> iterStats(int iter, StepTimes times) {
        Map<String, Object> stats = iterStats(iter);
        stats.putAll(times.since(logged).perIteration());
        logged = times.copy();
        return stats;
    }

    /** pycls's get_iter_stats after iteration {@code iter} (from 0) of the epoch, as a json_stats map. */
    public Map<String, Object> iterStats(int iter) {
        double timeAvg = timeTotal / Math.max(1, iters);
        long itersLeftInRun = (long) (maxEpoch - epoch) * epochIters - (iter + 1);
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("_type", "train_iter");
        stats.put("epoch", JsonStats.epochLabel(epoch, maxEpoch));
        stats.put("iter", (iter + 1) + "/" + epochIters);
        stats.put("time_avg", timeAvg);
        stats.put("time_diff", timeDiff);
        stats.put("eta", timeString(timeAvg * itersLeftInRun));
        stats.put("eta_epoch", timeString(timeAvg * (epochIters - iter - 1)));
        stats.put("images_per_sec", timeAvg > 0 ? globalBatch / timeAvg : 0.0);
        stats.put("loss", loss.windowMedian());
        stats.put("top1_err", top1.windowMedian());
        stats.put("top5_err", top5.windowMedian());
        stats.put("lr", lr);
        return stats;
    }

    /** pycls's time_string: "dd,hh:mm:ss", whole seconds. */
    public static String timeString(double seconds) {
        long s = (long) Math.max(0, seconds);
        return String.format(Locale.ROOT, "%02d,%02d:%02d:%02d", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    }
}
