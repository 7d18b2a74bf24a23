package ai.emaspark.train;

import ai.emaspark.config.Config;
import java.util.List;

/** pycls's per-epoch learning rate ({@code pycls/core/optimizer.py get_epoch_lr}). */
public final class LrPolicy {
    private LrPolicy() {}

    public static double epochLr(Config cfg, int curEpoch) {
        double lr = policyFactor(cfg, curEpoch) * cfg.getFloat("OPTIM.BASE_LR");
        int warmupEpochs = cfg.getInt("OPTIM.WARMUP_EPOCHS");
        if (curEpoch < warmupEpochs) {
            double alpha = (double) curEpoch / warmupEpochs;
            double warmupFactor = cfg.getFloat("OPTIM.WARMUP_FACTOR") * (1.0 - alpha) + alpha;
            lr *= warmupFactor;
        }
        return lr;
    }

    private static double policyFactor(Config cfg, int curEpoch) {
        double maxEpoch = cfg.getInt("OPTIM.MAX_EPOCH");
        double minLr = cfg.getFloat("OPTIM.MIN_LR");
        switch (cfg.getString("OPTIM.LR_POLICY")) {
            case "cos": {
                double lr = 0.5 * (1.0 + Math.cos(Math.PI * curEpoch / maxEpoch));
                return (1.0 - minLr) * lr + minLr;
            }
            case "lin": {
                double lr = 1.0 - curEpoch / maxEpoch;
                return (1.0 - minLr) * lr + minLr;
            }
            case "exp":
                return Math.pow(minLr, curEpoch / maxEpoch);
            case "steps": {
                List<Double> steps = cfg.getFloatList("OPTIM.STEPS");
                int index = 0;
                for (int i = 0; i < steps.size(); i++) {
                    if (curEpoch >= steps.get(i)) {
                        index = i;
                    }
                }
                return Math.pow(cfg.getFloat("OPTIM.LR_MULT"), index);
            }
            default:
                throw new IllegalArgumentException("unknown OPTIM.LR_POLICY " + cfg.getString("OPTIM.LR_POLICY"));
        }
    }
}
