package ai.emaspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.emaspark.config.Config;
import ai.emaspark.config.ConfigLoader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** pycls's get_epoch_lr, values worked out by hand. */
class LrPolicyTest {
    private static Config cfg(String... overrides) {
        List<String> all = new ArrayList<>(List.of("TRAIN.DATASET", "/data", "OUT_DIR", "/runs/r", "OPTIM.BASE_LR", "0.8", "OPTIM.MAX_EPOCH", "100"));
        all.addAll(List.of(overrides));
        return ConfigLoader.load("", "test", all);
    }

    @Test
    void cosine() {
        Config cfg = cfg("OPTIM.LR_POLICY", "cos");
        assertEquals(0.8, LrPolicy.epochLr(cfg, 0), 1e-12);
        assertEquals(0.4, LrPolicy.epochLr(cfg, 50), 1e-12);
        assertEquals(0.8 * 0.5 * (1 + Math.cos(Math.PI * 0.99)), LrPolicy.epochLr(cfg, 99), 1e-12);
        Config withMin = cfg("OPTIM.LR_POLICY", "cos", "OPTIM.MIN_LR", "0.01");
        assertEquals(0.8 * (0.99 * 0.5 + 0.01), LrPolicy.epochLr(withMin, 50), 1e-12);
    }

    @Test
    void linearExponentialAndSteps() {
        assertEquals(0.8 * 0.75, LrPolicy.epochLr(cfg("OPTIM.LR_POLICY", "lin"), 25), 1e-12);
        assertEquals(0.8 * Math.pow(0.01, 0.5), LrPolicy.epochLr(cfg("OPTIM.LR_POLICY", "exp", "OPTIM.MIN_LR", "0.01"), 50), 1e-12);
        Config steps = cfg("OPTIM.LR_POLICY", "steps", "OPTIM.STEPS", "[0, 30, 60, 90]", "OPTIM.LR_MULT", "0.1");
        assertEquals(0.8, LrPolicy.epochLr(steps, 29), 1e-12);
        assertEquals(0.08, LrPolicy.epochLr(steps, 30), 1e-12);
        assertEquals(0.0008, LrPolicy.epochLr(steps, 95), 1e-12);
    }

    @Test
    void linearWarmupFromWarmupFactor() {
        Config cfg = cfg("OPTIM.LR_POLICY", "cos", "OPTIM.WARMUP_EPOCHS", "5", "OPTIM.WARMUP_FACTOR", "0.1");
        assertEquals(0.8 * 0.1, LrPolicy.epochLr(cfg, 0), 1e-12);
        double cos2 = 0.8 * 0.5 * (1 + Math.cos(Math.PI * 2 / 100));
        assertEquals(cos2 * (0.1 * 0.6 + 0.4), LrPolicy.epochLr(cfg, 2), 1e-12);
        double cos5 = 0.8 * 0.5 * (1 + Math.cos(Math.PI * 5 / 100));
        assertEquals(cos5, LrPolicy.epochLr(cfg, 5), 1e-12);
    }
}
