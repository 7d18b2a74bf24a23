package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.config.Config;
import ai.emaspark.ema.SnapshotFiles;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * EMA.md's update written out once more, for the tests: replays an epoch's EMA from the weight
 * snapshots the driver's EMA service applied (kept by {@code emaspark.debug.emaSnapshotDir}).
 */
final class EmaReplay {
    private EmaReplay() {}

    /** At iterations 0, P, 2P, ... of the epoch: ema = ema*(1-a) + w*a in float32; integer buffers copied. */
    static ModelState epoch(ItPlatform platform, ModelState start, Path snapshots, int epoch) throws Exception {
        Config cfg = platform.cfg;
        double adjust = (double) cfg.getInt("TRAIN.BATCH_SIZE") / cfg.getInt("OPTIM.MAX_EPOCH") * cfg.getInt("OPTIM.EMA_UPDATE_PERIOD");
        double alpha = epoch < cfg.getInt("OPTIM.WARMUP_EPOCHS") ? 1.0 : Math.min(1.0, cfg.getFloat("OPTIM.EMA_ALPHA") * adjust);
        List<Path> files = snapshotFiles(snapshots, epoch, 0);
        int iterations = ItPlatform.TRAIN_IMAGES / cfg.getInt("TRAIN.BATCH_SIZE");
        int period = cfg.getInt("OPTIM.EMA_UPDATE_PERIOD");
        assertEquals((iterations + period - 1) / period, files.size(), "snapshots at iterations 0, P, 2P, ... of epoch " + epoch);
        ModelState ema = start.copy();
        for (Path file : files) {
            ModelState weights = SnapshotFiles.read(file, platform.layout);
            for (int i = 0; i < ema.floats().length; i++) {
                ema.floats()[i] = ema.floats()[i] * (float) (1 - alpha) + weights.floats()[i] * (float) alpha;
            }
            System.arraycopy(weights.longs(), 0, ema.longs(), 0, ema.longs().length);
        }
        return ema;
    }

    /**
     * A power EMA over the epoch's snapshots (Karras et al. 2024): update t = {@code updatesBefore}+1, +2,
     * ... of the run, each ema = ema*beta + w*(1-beta) with beta = (1 - 1/t)^(gamma+1), in float32.
     */
    static ModelState powerEpoch(ModelState start, double gamma, long updatesBefore, Path snapshots, int epoch,
            StateLayout layout) throws Exception {
        ModelState ema = start.copy();
        long t = updatesBefore;
        for (Path file : snapshotFiles(snapshots, epoch, 0)) {
            ModelState weights = SnapshotFiles.read(file, layout);
            t++;
            double beta = Math.pow(1.0 - 1.0 / t, gamma + 1);
            for (int i = 0; i < ema.floats().length; i++) {
                ema.floats()[i] = ema.floats()[i] * (float) beta + weights.floats()[i] * (float) (1 - beta);
            }
            System.arraycopy(weights.longs(), 0, ema.longs(), 0, ema.longs().length);
        }
        return ema;
    }

    /** The snapshot files of one attempt of an epoch, in order. */
    static List<Path> snapshotFiles(Path snapshots, int epoch, int attempt) throws Exception {
        try (Stream<Path> list = Files.list(snapshots)) {
            return list.filter(p -> p.getFileName().toString().startsWith(String.format("e%04d_a%d_", epoch, attempt))).sorted().toList();
        }
    }

    /** The float tensors other than BN running means and variances (precise BN replaces those), concatenated. */
    static float[] withoutBnStatistics(ModelState state) {
        StateLayout l = state.layout();
        float[] out = new float[l.floatCount()];
        int n = 0;
        for (int i = 0; i < l.tensors().size(); i++) {
            TensorSpec t = l.tensor(i);
            if (t.integer() || t.role() == TensorSpec.Role.BN_RUNNING_MEAN || t.role() == TensorSpec.Role.BN_RUNNING_VAR) {
                continue;
            }
            System.arraycopy(state.floats(), l.offset(i), out, n, t.size());
            n += t.size();
        }
        return java.util.Arrays.copyOf(out, n);
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]) / Math.max(1.0, Math.abs(expected[i])));
        }
        assertTrue(worst <= 1e-6, what + ": largest difference " + worst);
    }
}
