package ai.emaspark.checkpoint;

import ai.emaspark.ema.EmaBank;
import ai.emaspark.model.ModelState;
import ai.emaspark.train.OptimizerState;
import java.util.List;

/**
 * One checkpoint's content, pycls's fields: {@code epoch} is the finished epoch counted from 0 (the
 * directory is numbered epoch + 1), errors are top-1/top-5 percentages (100 when unknown) of the model
 * and of pycls's EMA; the EMAs (pycls's, {@link #ema()}, and the power EMAs of EMA.POWER_SIGMA_RELS);
 * and the resumes of the run on another number of replicas, oldest first.
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
        List<NumGpusChange> numGpusChanges) {

    /** A checkpoint with pycls's EMA alone. */
    public Checkpoint(int epoch, long step, ModelState model, ModelState ema, OptimizerState optimizer, double testErr,
            double testTop5Err, double emaErr, double emaTop5Err, String configYaml, List<NumGpusChange> numGpusChanges) {
        this(epoch, step, model, EmaBank.of(ema), optimizer, testErr, testTop5Err, emaErr, emaTop5Err, configYaml, numGpusChanges);
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
