package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.checkpoint.PostHocStore;
import ai.emaspark.config.ConfigException;
import ai.emaspark.config.ConfigLoader;
import ai.emaspark.ema.EmaBank;
import ai.emaspark.ema.PowerEma;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PostHocEma's planning (every refusal one line, before Spark) and its reconstruction from OUT_DIR/posthoc/, without Spark. */
class PostHocDriverTest {
    private static final StateLayout LAYOUT = new StateLayout(List.of(new TensorSpec("head.fc.weight", new long[] {64}, false, true,
            TensorSpec.Role.LINEAR_WEIGHT)));

    @TempDir
    java.nio.file.Path tmp;

    private static ModelState state(Random random) {
        float[] floats = new float[64];
        for (int i = 0; i < floats.length; i++) {
            floats[i] = (float) random.nextGaussian();
        }
        return new ModelState(LAYOUT, floats, new long[0]);
    }

    private Path run(FileSystem fs, boolean withConfig, int stores) throws Exception {
        Path outDir = new Path(tmp.resolve("run").toUri());
        fs.mkdirs(outDir);
        if (withConfig) {
            try (OutputStream out = fs.create(new Path(outDir, OutDir.CONFIG))) {
                out.write(ConfigLoader.load("", "test", List.of("TRAIN.DATASET", "/data/x", "OUT_DIR", outDir.toString())).toYaml()
                        .getBytes(StandardCharsets.UTF_8));
            }
        }
        Random random = new Random(7);
        PostHocStore store = new PostHocStore(fs, outDir);
        for (int epoch = 0; epoch < stores; epoch++) {
            store.commit(epoch, new EmaBank(state(random), List.of(new EmaBank.Power(0.10, PowerEma.gamma(0.10), state(random)),
                    new EmaBank.Power(0.20, PowerEma.gamma(0.20), state(random))), 40L * (epoch + 1)));
        }
        return outDir;
    }

    @Test
    void whatCannotBeReconstructedIsRefusedInOneLineNamingTheFix() throws Exception {
        FileSystem fs = FileSystem.getLocal(new Configuration());
        Configuration conf = fs.getConf();
        Path outDir = run(fs, false, 0);
        assertEquals("sigma_rel 0.3 is not in (0, 0.2887]: ask for relative widths such as 0.05 to 0.25", assertThrows(
                ConfigException.class, () -> PostHocDriver.plan(new PostHocDriver.Settings(outDir, List.of(0.1, 0.3), false), conf))
                .getMessage());
        assertEquals(outDir + " has no config.yaml: give the OUT_DIR of a run (--run)", assertThrows(ConfigException.class,
                () -> PostHocDriver.plan(new PostHocDriver.Settings(outDir, List.of(0.1), false), conf)).getMessage());
        Path empty = run(fs, true, 0);
        String none = assertThrows(ConfigException.class,
                () -> PostHocDriver.plan(new PostHocDriver.Settings(empty, List.of(0.1), false), conf)).getMessage();
        assertTrue(none.endsWith("holds no stored power EMAs: train with EMA.POWER_SIGMA_RELS (e.g. [0.05, 0.10]) and "
                + "EMA.POSTHOC_PERIOD (e.g. 1)"), none);
    }

    /** ResNet-50's 25.6 M floats: five widths fit a 4 GB driver, not the default 1 GB. */
    @Test
    void aSweepTooWideForTheDriversHeapIsRefusedInOneLine() {
        long resnet50 = 25_557_032L;
        assertEquals(null, PostHocDriver.memoryProblem(resnet50, 5, 4096L << 20));
        assertEquals("reconstructing 5 width(s) of 25557032 weights needs about 2144 MB of the driver's heap but it has 1024 MB: "
                + "raise spark.driver.memory to at least 2681 MB, or ask for fewer widths at a time",
                PostHocDriver.memoryProblem(resnet50, 5, 1024L << 20));
    }

    @Test
    void aTrackedWidthComesBackAsItsLastStoredStateAndAnotherLiesBetween() throws Exception {
        FileSystem fs = FileSystem.getLocal(new Configuration());
        Path outDir = run(fs, true, 4);
        List<PostHocStore.Stored> stored = new PostHocStore(fs, outDir).list();
        PostHocDriver driver = PostHocDriver.plan(new PostHocDriver.Settings(outDir, List.of(0.10, 0.15), false), fs.getConf());
        List<PostHocDriver.Reconstruction> rebuilt = driver.reconstruct(LAYOUT);
        assertEquals(List.of("r0.100", "r0.150"), rebuilt.stream().map(PostHocDriver.Reconstruction::name).toList());
        float[] last = new PostHocStore(fs, outDir).load(stored.get(6), LAYOUT).floats(); // p0.100 at t = 160
        float[] tracked = rebuilt.get(0).state().floats();
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < last.length; i++) {
            diff += (last[i] - tracked[i]) * (double) (last[i] - tracked[i]);
            norm += last[i] * (double) last[i];
        }
        assertTrue(Math.sqrt(diff / norm) <= 1e-5, "relative error " + Math.sqrt(diff / norm));
        assertTrue(rebuilt.get(1).solution().profileError() < 0.05, "between the tracked widths: " + rebuilt.get(1).solution().profileError());
        assertTrue(rebuilt.get(0).solution().conditionNumber() >= 1, "reported");
    }
}
