package ai.emaspark.checkpoint;

import ai.emaspark.model.ModelState;
import ai.emaspark.train.OptimizerState;

/**
 * One checkpoint's content, pycls's fields: {@code epoch} is the finished epoch counted from 0 (the
 * directory is numbered epoch + 1), errors are top-1/top-5 percentages (100 when unknown).
 */
public record Checkpoint(
        int epoch,
        long step,
        ModelState model,
        ModelState ema,
        OptimizerState optimizer,
        double testErr,
        double testTop5Err,
        double emaErr,
        double emaTop5Err,
        String configYaml) {

    public static String directoryName(int epoch) {
        return String.format("model_epoch_%04d", epoch + 1);
    }
}
