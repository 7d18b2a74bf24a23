package ai.emaspark.ema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.ema.PostHocSolver.Profile;
import ai.emaspark.ema.PostHocSolver.Solution;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.PyTorchPeer;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import ai.emaspark.model.TensorSpec.Role;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Post-hoc EMA over a synthetic weight sequence (a drifting random walk, as weights move in training):
 * two power EMAs (sigma_rel 0.05 and 0.10) tracked in float32 and stored every {@value #EVERY} of
 * {@value #UPDATES} updates, as the driver stores them; reconstructions are checked against the stored
 * states and against power EMAs of other widths tracked directly over the same sequence.
 */
class PostHocSolverTest {
    private static final int UPDATES = 2400;
    private static final int EVERY = 120;
    private static final double[] TRACKED = {0.05, 0.10};
    private static final double[] DIRECT = {0.04, 0.07, 0.13};
    private static final StateLayout LAYOUT = new StateLayout(List.of(
            new TensorSpec("w", new long[] {512}, false, true, Role.CONV_WEIGHT),
            new TensorSpec("bn.num_batches_tracked", new long[0], true, false, Role.BN_BATCH_COUNT)));

    private static final List<Profile> stored = new ArrayList<>();
    private static final List<ModelState> states = new ArrayList<>();
    /** The tracked profiles' final states, then the directly tracked widths', at update UPDATES. */
    private static final List<ModelState> finals = new ArrayList<>();

    @BeforeAll
    static void track() {
        Random random = new Random(1);
        double[] all = new double[TRACKED.length + DIRECT.length];
        System.arraycopy(TRACKED, 0, all, 0, TRACKED.length);
        System.arraycopy(DIRECT, 0, all, TRACKED.length, DIRECT.length);
        List<ModelState> emas = new ArrayList<>();
        for (int k = 0; k < all.length; k++) {
            emas.add(ModelState.zeros(LAYOUT));
        }
        ModelState w = ModelState.zeros(LAYOUT);
        float[] drift = new float[w.floats().length];
        for (int i = 0; i < drift.length; i++) {
            drift[i] = (float) (random.nextGaussian() * 1e-3);
        }
        for (int t = 1; t <= UPDATES; t++) {
            for (int i = 0; i < drift.length; i++) {
                w.floats()[i] += drift[i] + (float) (random.nextGaussian() * 1e-2);
            }
            w.longs()[0] = t;
            for (int k = 0; k < all.length; k++) {
                PowerEma.update(emas.get(k), w, PowerEma.gamma(all[k]), t);
            }
            if (t % EVERY == 0) {
                for (int k = 0; k < TRACKED.length; k++) {
                    stored.add(Profile.ofSigmaRel(TRACKED[k], t));
                    states.add(emas.get(k).copy());
                }
            }
        }
        finals.addAll(emas);
    }

    @Test
    void aTrackedWidthReproducesItsStoredState() {
        for (int k = 0; k < TRACKED.length; k++) {
            Solution s = PostHocSolver.solve(stored, Profile.ofSigmaRel(TRACKED[k], UPDATES));
            ModelState rebuilt = PostHocSolver.combine(states, s.coefficients());
            double error = relativeError(finals.get(k), rebuilt);
            assertTrue(error <= 1e-5, "sigma_rel " + TRACKED[k] + ": relative error " + error + ", condition " + s.conditionNumber());
            assertTrue(s.profileError() < 1e-4, "profile error " + s.profileError());
            assertEquals(UPDATES, rebuilt.longs()[0], "int64 buffers from the last stored state");
        }
    }

    /**
     * Widths nobody tracked, between and just outside the tracked ones: the reconstruction lies within
     * 2 % of the distance between the two tracked EMAs from a power EMA tracked directly (the README's
     * stated tolerance); the match of the profiles themselves is within 2 %.
     */
    @Test
    void anUntrackedWidthMatchesAPowerEmaTrackedDirectly() {
        double spread = distance(finals.get(0), finals.get(1));
        for (int k = 0; k < DIRECT.length; k++) {
            Solution s = PostHocSolver.solve(stored, Profile.ofSigmaRel(DIRECT[k], UPDATES));
            ModelState rebuilt = PostHocSolver.combine(states, s.coefficients());
            double off = distance(finals.get(TRACKED.length + k), rebuilt) / spread;
            System.out.printf("post-hoc sigma_rel %.2f: %.4f of the tracked EMAs' distance from the direct EMA, profile "
                    + "error %.2e, condition %.3g%n", DIRECT[k], off, s.profileError(), s.conditionNumber());
            assertTrue(off <= 0.02, "sigma_rel " + DIRECT[k] + ": " + off + " of the tracked EMAs' distance");
            assertTrue(s.profileError() <= 0.02, "sigma_rel " + DIRECT[k] + ": profile error " + s.profileError());
            assertTrue(Double.isFinite(s.conditionNumber()) && s.conditionNumber() >= 1, "condition " + s.conditionNumber());
        }
    }

    /** numpy, integrating the profiles numerically and solving with lstsq, gets the same weights. */
    @Test
    void numpyIntegratingTheProfilesGetsTheSameReconstruction(@TempDir Path dir) throws Exception {
        Profile target = Profile.ofSigmaRel(0.07, UPDATES);
        List<double[]> pairs = stored.stream().map(p -> new double[] {p.gamma(), p.t()}).toList();
        ObjectMapper json = new ObjectMapper();
        json.writeValue(dir.resolve("case.json").toFile(), Map.of("stored", pairs, "target",
                new double[] {target.gamma(), target.t()}, "sigma_rels", DIRECT));
        Path script = Path.of("").toAbsolutePath().getParent().resolve("lib/src/test/python/posthoc_check.py");
        Path log = dir.resolve("posthoc_check.log");
        Process process = new ProcessBuilder(PyTorchPeer.python(), script.toString(), dir.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        boolean ended = process.waitFor(5, TimeUnit.MINUTES);
        assertTrue(ended && process.exitValue() == 0, "posthoc_check.py failed:\n" + Files.readString(log));
        JsonNode result = json.readTree(dir.resolve("result.json").toFile());

        for (int k = 0; k < DIRECT.length; k++) {
            assertEquals(result.path("gammas").get(k).asDouble(), PowerEma.gamma(DIRECT[k]), 1e-9, "gamma of " + DIRECT[k]);
        }
        Solution ours = PostHocSolver.solve(stored, target);
        double[] theirs = new double[stored.size()];
        for (int i = 0; i < theirs.length; i++) {
            theirs[i] = result.path("coefficients").get(i).asDouble();
        }
        double error = relativeError(PostHocSolver.combine(states, theirs), PostHocSolver.combine(states, ours.coefficients()));
        assertTrue(error <= 1e-5, "relative difference " + error);
        double condition = result.path("condition").asDouble();
        assertEquals(condition, ours.conditionNumber(), 1e-3 * condition, "condition number");
    }

    @Test
    void nothingStoredIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> PostHocSolver.solve(List.of(), Profile.ofSigmaRel(0.1, 10)));
        assertThrows(IllegalArgumentException.class, () -> new Profile(1, 0));
    }

    private static double distance(ModelState a, ModelState b) {
        double sum = 0;
        for (int i = 0; i < a.floats().length; i++) {
            double d = a.floats()[i] - b.floats()[i];
            sum += d * d;
        }
        return Math.sqrt(sum);
    }

    private static double relativeError(ModelState expected, ModelState actual) {
        return distance(expected, actual) / distance(expected, ModelState.zeros(LAYOUT));
    }
}
