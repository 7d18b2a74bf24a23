package ai.emaspark.checkpoint;

import ai.emaspark.ema.EmaBank;
import ai.emaspark.model.ModelState;
import ai.emaspark.train.OptimizerState;
import java.util.List;
import java.util.Map;

/**
 * One checkpoint's content, pycls's fields: {@code epoch} is the finished epoch counted from 0 (the
 * directory is numbered epoch + 1), errors are top-1/top-5 percentages (100 when unknown) of the model
 * and of pycls's EMA; the EMAs (pycls's, {@link #ema()}, and the power EMAs of EMA.POWER_SIGMA_RELS);
 * the resumes of the run on another number of replicas, oldest first; and the errors of the power
 * EMAs tested this epoch, by name (none when EMA.EVAL_PERIOD skipped them).
 */
public record Checkpoint(
        int epoch,
        long step,
        ModelState model,
        EmaBank emas,
        OptimizerState optimizer,
        double testErr,
        double testTop5Err,
        double emaErr,
        double emaTop5Err,
        String configYaml,
        List<NumGpusChange> numGpusChanges,
        Map<String, TestErrors> powerErrs) {

    /** A checkpoint with pycls's EMA alone. */
    public Checkpoint(int epoch, long step, ModelState model, ModelState ema, OptimizerState optimizer, double testErr,
            double testTop5Err, double emaErr, double emaTop5Err, String configYaml, List<NumGpusChange> numGpusChanges) {
        this(epoch, step, model, EmaBank.of(ema), optimizer, testErr, testTop5Err, emaErr, emaTop5Err, configYaml, numGpusChanges,
                Map.of());
    }

    /** A checkpoint with pycls's EMA alone, of a run that kept its number of replicas. */
    public Checkpoint(int epoch, long step, ModelState model, ModelState ema, OptimizerState optimizer, double testErr,
            double testTop5Err, double emaErr, double emaTop5Err, String configYaml) {
        this(epoch, step, model, ema, optimizer, testErr, testTop5Err, emaErr, emaTop5Err, configYaml, List.of());
    }

    /** pycls's EMA. */
    public ModelState ema() {
        return emas.pycls();
    }

    public static String directoryName(int epoch) {
        return String.format("model_epoch_%04d", epoch + 1);
    }
}
