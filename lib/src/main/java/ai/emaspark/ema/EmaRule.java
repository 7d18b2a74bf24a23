package ai.emaspark.ema;

import ai.emaspark.config.Config;
import ai.emaspark.model.ModelState;

/**
 * pycls's EMA of the weights ({@code update_model_ema}; see the design's EMA.md): when, with which
 * weight, and the update itself over flat states.
 */
public final class EmaRule {
    private EmaRule() {}

    /** True when iteration {@code curIter} (from 0, within the epoch) updates the EMA. */
    public static boolean updatesAt(int updatePeriod, int curIter) {
        return updatePeriod > 0 && curIter % updatePeriod == 0;
    }

    /** The weight of the new weights at epoch {@code curEpoch} (from 0). */
    public static double alpha(Config cfg, int curEpoch) {
        return alpha(cfg.getInt("TRAIN.BATCH_SIZE"), cfg.getInt("OPTIM.MAX_EPOCH"), cfg.getInt("OPTIM.EMA_UPDATE_PERIOD"),
                cfg.getFloat("OPTIM.EMA_ALPHA"), cfg.getInt("OPTIM.WARMUP_EPOCHS"), curEpoch);
    }

    public static double alpha(int batchSize, int maxEpoch, int updatePeriod, double emaAlpha, int warmupEpochs, int curEpoch) {
        if (curEpoch < warmupEpochs) {
            return 1.0; // during warmup the EMA is a plain copy of the weights
        }
        double adjust = (double) batchSize / maxEpoch * updatePeriod;
        return Math.min(1.0, emaAlpha * adjust);
    }

    /**
     * ema = ema * (1 - alpha) + model * alpha for every float tensor (parameters and BN statistics),
     * in float32 as PyTorch computes it; int64 buffers are copied.
     */
    public static void update(ModelState ema, ModelState model, double alpha) {
        if (!ema.layout().equals(model.layout())) {
            throw new IllegalArgumentException("EMA and model states have different layouts");
        }
        float keep = (float) (1.0 - alpha);
        float take = (float) alpha;
        float[] e = ema.floats();
        float[] w = model.floats();
        for (int i = 0; i < e.length; i++) {
            e[i] = e[i] * keep + w[i] * take;
        }
        System.arraycopy(model.longs(), 0, ema.longs(), 0, ema.longs().length);
    }
}
