package ai.emaspark.ema;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import ai.emaspark.model.TensorSpec.Role;
import java.util.List;
import org.junit.jupiter.api.Test;

class EmaRuleTest {
    /** A conv weight, a BN's four float tensors and its int64 batch counter. */
    private static final StateLayout LAYOUT = new StateLayout(List.of(
            new TensorSpec("conv.weight", new long[] {2}, false, true, Role.CONV_WEIGHT),
            new TensorSpec("bn.weight", new long[] {1}, false, true, Role.BN_WEIGHT),
            new TensorSpec("bn.bias", new long[] {1}, false, true, Role.BN_BIAS),
            new TensorSpec("bn.running_mean", new long[] {1}, false, false, Role.BN_RUNNING_MEAN),
            new TensorSpec("bn.running_var", new long[] {1}, false, false, Role.BN_RUNNING_VAR),
            new TensorSpec("bn.num_batches_tracked", new long[0], true, false, Role.BN_BATCH_COUNT)));

    @Test
    void updatesAtIterationsZeroPeriodTwoPeriodsOfEveryEpoch() {
        assertTrue(EmaRule.updatesAt(32, 0));
        assertFalse(EmaRule.updatesAt(32, 1));
        assertFalse(EmaRule.updatesAt(32, 31));
        assertTrue(EmaRule.updatesAt(32, 32));
        assertTrue(EmaRule.updatesAt(32, 64));
        assertFalse(EmaRule.updatesAt(0, 0), "period 0 never updates");
        assertTrue(EmaRule.updatesAt(1, 7));
    }

    @Test
    void alphaIsAdjustedByBatchEpochsAndPeriod() {
        // EMA.md's example: ImageNet, batch 1024, 100 epochs, period 32: 1e-5 * 1024/100*32 = 0.0032768
        assertEquals(0.0032768, EmaRule.alpha(1024, 100, 32, 1e-5, 0, 5), 1e-15);
        // pycls defaults: 1e-5 * 128/200*32 = 0.0002048
        assertEquals(0.0002048, EmaRule.alpha(128, 200, 32, 1e-5, 0, 0), 1e-15);
    }

    @Test
    void alphaIsClampedAtOne() {
        assertEquals(1.0, EmaRule.alpha(1024, 1, 32, 0.5, 0, 0));
        assertEquals(0.5, EmaRule.alpha(100, 100, 1, 0.5, 0, 0), 1e-15);
    }

    @Test
    void warmupEpochsCopyTheWeights() {
        assertEquals(1.0, EmaRule.alpha(1024, 100, 32, 1e-5, 5, 0));
        assertEquals(1.0, EmaRule.alpha(1024, 100, 32, 1e-5, 5, 4));
        assertEquals(0.0032768, EmaRule.alpha(1024, 100, 32, 1e-5, 5, 5), 1e-15);
        ModelState ema = state(new float[] {1, 2, 3, 4, 5, 6}, 3);
        ModelState model = state(new float[] {-1, 0.5f, 7, 8, 9, 10}, 11);
        EmaRule.update(ema, model, EmaRule.alpha(1024, 100, 32, 1e-5, 5, 2));
        assertArrayEquals(model.floats(), ema.floats());
    }

    @Test
    void blendsParametersAndBnBuffersAndCopiesIntegerBuffers() {
        ModelState ema = state(new float[] {1, 2, 1, 0, 0.5f, 1}, 7);
        ModelState model = state(new float[] {3, -2, 0, 1, 1.5f, 2}, 40);
        EmaRule.update(ema, model, 0.25);
        // by hand: e*0.75 + w*0.25
        assertArrayEquals(new float[] {1.5f, 1.0f, 0.75f, 0.25f, 0.75f, 1.25f}, ema.floats());
        assertArrayEquals(new long[] {40}, ema.longs(), "num_batches_tracked is copied, not blended");
        EmaRule.update(ema, model, 0.25);
        assertArrayEquals(new float[] {1.875f, 0.25f, 0.5625f, 0.4375f, 0.9375f, 1.4375f}, ema.floats());
    }

    private static ModelState state(float[] floats, long count) {
        return new ModelState(LAYOUT, floats, new long[] {count});
    }
}
