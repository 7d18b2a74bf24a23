package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.config.Config;
import ai.emaspark.config.ConfigLoader;
import ai.emaspark.fs.CrashingFileSystem;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import ai.emaspark.train.OptimizerState;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** OUT_DIR owned by one run, on a real HDFS: the lock, the settings a resume must keep, metrics that never lose a line. */
class OutDirTest {
    private static final StateLayout LAYOUT = new StateLayout(List.of(
            new TensorSpec("w", new long[] {6}, false, true, TensorSpec.Role.CONV_WEIGHT)));
    private static MiniDFSCluster cluster;
    private static FileSystem fs;
    private static Configuration conf;
    private static String uri;

    @BeforeAll
    static void startHdfs() throws Exception {
        cluster = ai.emaspark.fs.TestHdfs.start("outdir-hdfs");
        fs = cluster.getFileSystem();
        uri = "hdfs://localhost:" + cluster.getNameNodePort();
        conf = new Configuration();
        conf.set("fs.defaultFS", uri);
    }

    @AfterAll
    static void stopHdfs() {
        cluster.shutdown();
    }

    private static Config cfg(String... overrides) {
        List<String> all = new ArrayList<>(List.of("TRAIN.DATASET", "hdfs://nn/data", "OUT_DIR", "hdfs://nn/runs/r"));
        all.addAll(List.of(overrides));
        return ConfigLoader.load("", "test", all);
    }

    private static void commitEpoch0(Path outDir, Config trainedWith) throws Exception {
        ModelState weights = new ModelState(LAYOUT, new float[] {1, 2, 3, 4, 5, 6}, new long[0]);
        new CheckpointStore(fs, outDir).commit(new Checkpoint(0, 10, weights, weights.copy(),
                new OptimizerState(new float[6], 10), 50, 10, 40, 9, trainedWith.toYaml()));
    }

    @Test
    void aSecondRunOnTheSameOutDirIsRefusedWithOneLineNamingTheFirst() throws Exception {
        Path dir = new Path(uri + "/runs/two");
        try (OutDir first = OutDir.claim(conf, dir)) {
            long start = System.nanoTime();
            RunFailedException e = assertThrows(RunFailedException.class, () -> OutDir.claim(conf, dir).close());
            assertTrue(e.getMessage().startsWith("OUT_DIR " + dir + " is used by another run that is still going: emaspark Train of "),
                    e.getMessage());
            assertTrue(e.getMessage().endsWith("give this run its own OUT_DIR, or stop that run first"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line");
            // before the 15 s of silence (HdfsLease.SILENCE) after which the owner would count as dead
            assertTrue(System.nanoTime() - start < 15e9, "a live owner is told apart by its heartbeats");
            first.confirmHeld();
        }
        try (OutDir again = OutDir.claim(conf, dir)) {
            again.confirmHeld(); // released: free at once
        }
    }

    @Test
    void aStaleLockOfAKilledDriverIsTakenOver() throws Exception {
        Path dir = new Path(uri + "/runs/stale");
        Process holder = new ProcessBuilder(java(), "-cp", System.getProperty("java.class.path"),
                "ai.emaspark.checkpoint.LockHolder", dir.toString()).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("locked")) {
                // the holder's log
            }
            assertTrue(line != null, "the holder took the lock");
        }
        holder.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // kill -9: the lock stays open, its lease unreleased
        long start = System.nanoTime();
        try (OutDir taken = OutDir.claim(conf, dir)) {
            taken.confirmHeld();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 120, "taken over in " + seconds + " s");
    }

    @Test
    void aResumeWithSettingsThatChangeTheResultIsRefusedNamingThem() throws Exception {
        Path dir = new Path(uri + "/runs/changed");
        commitEpoch0(dir, cfg("OPTIM.BASE_LR", "0.1", "MODEL.DEPTH", "20", "LOG_PERIOD", "10"));
        try (OutDir out = OutDir.claim(conf, dir)) {
            RunFailedException e = assertThrows(RunFailedException.class, () -> out.resumePoint(
                    cfg("OPTIM.BASE_LR", "0.2", "MODEL.DEPTH", "56", "LOG_PERIOD", "1", "DATA_LOADER.NUM_WORKERS", "3"), LAYOUT));
            assertEquals("cannot resume " + dir + " with other settings than it was trained with: MODEL.DEPTH 20 → 56; "
                    + "OPTIM.BASE_LR 0.1 → 0.2 (stored → now): use its settings to resume, or give another OUT_DIR", e.getMessage());
            // Power EMAs the run did not keep cannot start half-way: refused as any key that changes the result.
            RunFailedException powers = assertThrows(RunFailedException.class, () -> out.resumePoint(cfg("OPTIM.BASE_LR", "0.1",
                    "MODEL.DEPTH", "20", "LOG_PERIOD", "10", "EMA.POWER_SIGMA_RELS", "[0.1]"), LAYOUT));
            assertTrue(powers.getMessage().contains(": EMA.POWER_SIGMA_RELS [] → [0.1] (stored → now)"), powers.getMessage());
            // Logging, decode threads, how often a run without power EMAs is tested and how often power EMAs are
            // stored do not change the result: that resume is fine.
            assertEquals(0, out.resumePoint(cfg("OPTIM.BASE_LR", "0.1", "MODEL.DEPTH", "20", "LOG_PERIOD", "1",
                    "DATA_LOADER.NUM_WORKERS", "3", "TRAIN.EVAL_PERIOD", "2", "EMA.EVAL_PERIOD", "2", "EMA.POSTHOC_PERIOD", "3"),
                    LAYOUT).orElseThrow().epoch());
        }
        // With power EMAs, the epochs that test them give them precise BN statistics, which go on into their averages.
        Path powers = new Path(uri + "/runs/changed-powers");
        commitEpoch0(powers, cfg("EMA.POWER_SIGMA_RELS", "[0.1]"));
        try (OutDir out = OutDir.claim(conf, powers)) {
            RunFailedException e = assertThrows(RunFailedException.class,
                    () -> out.resumePoint(cfg("EMA.POWER_SIGMA_RELS", "[0.1]", "TRAIN.EVAL_PERIOD", "2"), LAYOUT));
            assertTrue(e.getMessage().contains(": TRAIN.EVAL_PERIOD 1 → 2 (stored → now)"), e.getMessage());
        }
    }

    @Test
    void aResumeOnAnotherNumberOfReplicasIsAllowedAndRecorded() throws Exception {
        Path dir = new Path(uri + "/runs/fewer-gpus");
        commitEpoch0(dir, cfg("NUM_GPUS", "2", "TRAIN.BATCH_SIZE", "64", "TEST.BATCH_SIZE", "64"));
        try (OutDir out = OutDir.claim(conf, dir)) {
            Checkpoint resumed = out.resumePoint(cfg("NUM_GPUS", "1", "TRAIN.BATCH_SIZE", "64", "TEST.BATCH_SIZE", "64"), LAYOUT)
                    .orElseThrow();
            assertEquals(List.of(new ai.emaspark.checkpoint.NumGpusChange(1, 2, 1)), resumed.numGpusChanges());
            // Written into the next checkpoint's meta.json, and read back from it with the next change added.
            CheckpointStore store = new CheckpointStore(fs, dir);
            store.commit(new Checkpoint(1, 20, resumed.model(), resumed.ema(), resumed.optimizer(), 50, 10, 40, 9,
                    cfg("NUM_GPUS", "1", "TRAIN.BATCH_SIZE", "64", "TEST.BATCH_SIZE", "64").toYaml(), resumed.numGpusChanges()));
            assertEquals(1, store.metaJson(new Path(dir, "checkpoints/" + Checkpoint.directoryName(1))).path("num_gpus_changes")
                    .get(0).path("num_gpus").asInt());
            Checkpoint again = out.resumePoint(cfg("NUM_GPUS", "4", "TRAIN.BATCH_SIZE", "64", "TEST.BATCH_SIZE", "64"), LAYOUT)
                    .orElseThrow();
            assertEquals(List.of(new ai.emaspark.checkpoint.NumGpusChange(1, 2, 1), new ai.emaspark.checkpoint.NumGpusChange(2, 1, 4)),
                    again.numGpusChanges());
            // The global batch is still a result-changing setting.
            RunFailedException e = assertThrows(RunFailedException.class, () -> out.resumePoint(
                    cfg("NUM_GPUS", "1", "TRAIN.BATCH_SIZE", "32", "TEST.BATCH_SIZE", "64"), LAYOUT));
            assertTrue(e.getMessage().contains("TRAIN.BATCH_SIZE 64 → 32"), e.getMessage());
        }
    }

    @Test
    void aFreshStartIntoAnOutDirThatHoldsARunIsRefused() throws Exception {
        Path dir = new Path(uri + "/runs/taken");
        commitEpoch0(dir, cfg());
        try (OutDir out = OutDir.claim(conf, dir)) {
            RunFailedException e = assertThrows(RunFailedException.class,
                    () -> out.resumePoint(cfg("TRAIN.AUTO_RESUME", "False"), LAYOUT));
            assertEquals("OUT_DIR " + dir + " already holds a run (checkpoints) and TRAIN.AUTO_RESUME is False: give an empty "
                    + "OUT_DIR, or TRAIN.AUTO_RESUME True to resume it", e.getMessage());
        }
        try (OutDir empty = OutDir.claim(conf, new Path(uri + "/runs/empty"))) {
            assertTrue(empty.resumePoint(cfg("TRAIN.AUTO_RESUME", "False"), LAYOUT).isEmpty(), "an empty OUT_DIR is fine");
        }
    }

    /** The writer dies before each step of a metrics flush in turn: no line flushed before is ever lost. */
    @Test
    void aCrashBeforeAnyStepOfAMetricsFlushLosesNoLine() throws Exception {
        for (int crashAt = 1; ; crashAt++) {
            Path dir = new Path(uri + "/runs/metrics-" + crashAt);
            MetricsLog before = new MetricsLog(fs, dir, Integer.MAX_VALUE);
            before.add(Map.of("_type", "train_epoch", "epoch", "1/3"));
            before.flush();
            CrashingFileSystem dying = new CrashingFileSystem(fs, crashAt);
            MetricsLog writer = new MetricsLog(dying, dir, Integer.MAX_VALUE);
            writer.add(Map.of("_type", "train_epoch", "epoch", "2/3"));
            try {
                writer.flush();
            } catch (java.io.IOException e) {
                assertTrue(dying.crashed(), e.toString());
            }
            ai.emaspark.fs.Replace.restore(fs, dir); // what the next run does first
            List<String> lines = new MetricsLog(fs, dir, Integer.MAX_VALUE).lines();
            assertTrue(lines.size() >= 1 && lines.get(0).contains("\"1/3\""), "crash at step " + crashAt + ": " + lines);
            if (!dying.crashed()) {
                assertEquals(2, lines.size());
                assertTrue(crashAt > 3, "the flush has steps: " + dying.steps());
                break;
            }
        }
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }
}
