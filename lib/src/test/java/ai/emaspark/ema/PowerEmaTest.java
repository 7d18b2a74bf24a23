package ai.emaspark.ema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import ai.emaspark.model.TensorSpec.Role;
import java.util.List;
import org.junit.jupiter.api.Test;

class PowerEmaTest {
    private static final StateLayout ONE = new StateLayout(List.of(
            new TensorSpec("w", new long[] {1}, false, true, Role.CONV_WEIGHT),
            new TensorSpec("bn.num_batches_tracked", new long[0], true, false, Role.BN_BATCH_COUNT)));

    @Test
    void theExponentsOfThePapersNamedWidths() {
        // Karras et al. 2024 (and edm2's README): sigma_rel 0.05 is gamma 16.97, 0.10 is gamma 6.94.
        assertEquals(16.97, PowerEma.gamma(0.05), 0.005);
        assertEquals(6.94, PowerEma.gamma(0.10), 0.005);
        assertEquals(0.0, PowerEma.gamma(PowerEma.MAX_SIGMA_REL), 1e-12);
    }

    @Test
    void gammaAndSigmaRelAreInverses() {
        for (double sigma = 0.01; sigma < PowerEma.MAX_SIGMA_REL; sigma += 0.0137) {
            double gamma = PowerEma.gamma(sigma);
            assertEquals(sigma, PowerEma.sigmaRel(gamma), 1e-15, "sigma_rel " + sigma);
            // the defining cubic: (g+2)^2 (g+3) = (g+1) / sigma^2
            double lhs = (gamma + 2) * (gamma + 2) * (gamma + 3);
            assertEquals(lhs, (gamma + 1) / (sigma * sigma), 1e-12 * lhs, "sigma_rel " + sigma);
        }
    }

    @Test
    void widthsOutsideTheProfilesAreRefusedInOneLine() {
        IllegalArgumentException wide = assertThrows(IllegalArgumentException.class, () -> PowerEma.gamma(0.3));
        assertTrue(wide.getMessage().startsWith("sigma_rel 0.3 is not in (0, 0.2887]"), wide.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PowerEma.gamma(0));
        assertThrows(IllegalArgumentException.class, () -> PowerEma.gamma(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> PowerEma.beta(6.94, 0));
    }

    @Test
    void betaKeepsNothingAtTheFirstUpdateAndFollowsItsFormula() {
        assertEquals(0.0, PowerEma.beta(6.94, 1));
        assertEquals(Math.pow(0.5, 7.94), PowerEma.beta(6.94, 2), 1e-17);
        assertEquals(Math.pow(0.999, 17.97), PowerEma.beta(16.97, 1000), 1e-15);
    }

    /**
     * Unrolled, update tau of T ends with weight (tau^(g+1) - (tau-1)^(g+1)) / T^(g+1): the profile's mass
     * over [tau-1, tau]. Each weight is read off by feeding 1 at update tau and 0 elsewhere.
     */
    @Test
    void theUpdatesWeighEachSnapshotByTheProfilesMassOverItsInterval() {
        double gamma = PowerEma.gamma(0.10);
        int updates = 200;
        for (int tau : new int[] {1, 2, 50, 150, 199, 200}) {
            ModelState ema = ModelState.zeros(ONE);
            for (int t = 1; t <= updates; t++) {
                ModelState w = ModelState.zeros(ONE);
                w.floats()[0] = t == tau ? 1f : 0f;
                w.longs()[0] = t;
                PowerEma.update(ema, w, gamma, t);
            }
            double expected = (Math.pow(tau, gamma + 1) - Math.pow(tau - 1, gamma + 1)) / Math.pow(updates, gamma + 1);
            assertEquals(expected, ema.floats()[0], 1e-5 * expected + 1e-9, "weight of update " + tau + " (float32 updates)");
            assertEquals(updates, ema.longs()[0], "int64 buffers are copied");
        }
    }
}
