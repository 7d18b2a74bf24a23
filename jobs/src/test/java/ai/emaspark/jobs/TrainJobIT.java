package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.config.Config;
import ai.emaspark.config.ConfigLoader;
import ai.emaspark.data.SampleImageNet;
import ai.emaspark.ema.SnapshotFiles;
import ai.emaspark.jobs.local.EmbeddedHdfs;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The job as users run it: jobs/bin/spark-submit, local-cluster with two executor JVMs, a real
 * MiniDFSCluster, real JPEG files (two of them damaged), real sockets between the executors.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TrainJobIT {
    private static final int EPOCHS = 3;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path work = SparkSubmitRun.JOBS.resolve("target/it");
    private MiniDFSCluster hdfs;
    private FileSystem fs;
    private String uri;
    private String dataset;
    private Config cfg;
    private StateLayout layout;
    private String prepareOutput;

    @BeforeAll
    void startHdfsAndWriteDataset() throws Exception {
        hdfs = EmbeddedHdfs.start(work.resolve("hdfs"), 0, 0);
        fs = hdfs.getFileSystem();
        uri = "hdfs://localhost:" + hdfs.getNameNodePort();
        String raw = uri + "/data/sample-raw";
        dataset = uri + "/data/sample-imagenet";
        new SampleImageNet(FileSystem.newInstance(java.net.URI.create(uri), fastCloseConf()), new org.apache.hadoop.fs.Path(raw), 0)
                .write(10, 64, 12, true);
        SparkSubmitRun prepare = SparkSubmitRun.startPrepare(work.resolve("logs/prepare.log"), "--src", raw, "--out", dataset,
                "--shard-mb", "1");
        assertEquals(0, prepare.waitFor(5), () -> "prepare failed; see " + prepare.log);
        prepareOutput = prepare.output();
        cfg = ConfigLoader.load(Files.readString(SparkSubmitRun.ROOT.resolve("conf/quickstart.yaml")), "quickstart.yaml",
                List.of("TRAIN.DATASET", dataset, "OUT_DIR", uri + "/unused", "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS)));
        try (Replica replica = new Replica(ModelSpec.of(cfg), SgdSettings.of(cfg), Device.cpu())) {
            layout = replica.tensors().layout();
        }
    }

    private static org.apache.hadoop.conf.Configuration fastCloseConf() {
        org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
        conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 10);
        return conf;
    }

    @AfterAll
    void stopHdfs() {
        if (hdfs != null) {
            hdfs.shutdown();
        }
    }

    @Test
    @Order(1)
    void trainsKeepsTheEmaOnTheDriverAndCheckpointsBothThroughAFailedAttempt() throws Exception {
        Path snapshots = work.resolve("snapshots");
        deleteRecursively(snapshots);
        String outDir = uri + "/runs/main";
        SparkSubmitRun run = SparkSubmitRun.startTrain(work.resolve("logs/main.log"),
                Map.of("EMASPARK_DRIVER_OPTS", "-Demaspark.debug.emaSnapshotDir=" + snapshots,
                        // rank 1 dies at iteration 10 of the second epoch, in its first attempt
                        "EMASPARK_DEBUG_FAIL_ONCE", "1:1:10"),
                "TRAIN.DATASET", dataset, "OUT_DIR", outDir, "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS));
        assertEquals(0, run.waitFor(10), () -> "the run failed; see " + run.log);
        String output = run.output();

        CheckpointStore store = new CheckpointStore(fs, new org.apache.hadoop.fs.Path(outDir));
        List<org.apache.hadoop.fs.Path> committed = store.committed();
        assertEquals(EPOCHS, committed.size(), "one checkpoint per epoch");
        ModelState ema = SnapshotFiles.read(snapshots.resolve("start_e0000.bin"), layout);
        for (int epoch = 0; epoch < EPOCHS; epoch++) {
            org.apache.hadoop.fs.Path dir = committed.get(epoch);
            assertEquals(Checkpoint.directoryName(epoch), dir.getName());
            for (String entry : List.of("model.safetensors", "ema.safetensors", "optimizer.safetensors", "meta.json")) {
                assertTrue(fs.exists(new org.apache.hadoop.fs.Path(dir, entry)), dir + " lacks " + entry);
            }
            Checkpoint checkpoint = store.load(dir, layout);
            assertFalse(java.util.Arrays.equals(checkpoint.model().floats(), checkpoint.ema().floats()),
                    "the EMA entry must differ from the model entry");
            ModelState replayed = replayEpoch(ema, snapshots, epoch);
            // Precise BN (pycls's default) then replaces the BN running statistics of model and EMA.
            assertClose(withoutBnStatistics(replayed), withoutBnStatistics(checkpoint.ema()),
                    "epoch " + (epoch + 1) + " EMA vs the formula over its snapshots");
            assertFalse(java.util.Arrays.equals(replayed.floats(), checkpoint.ema().floats()),
                    "precise BN statistics replaced the EMA's running statistics");
            assertTrue(java.util.Arrays.equals(replayed.longs(), checkpoint.ema().longs()), "integer buffers are copied");
            ema = checkpoint.ema(); // the next epoch's EMA starts from it, precise statistics included
        }

        List<JsonNode> metrics = metrics(outDir);
        for (String type : List.of("train_epoch", "test_epoch", "test_ema_epoch")) {
            assertEquals(EPOCHS, metrics.stream().filter(m -> m.path("_type").asText().equals(type)).count(), type);
        }
        double lastTop1 = metrics.stream().filter(m -> m.path("_type").asText().equals("test_epoch"))
                .reduce((a, b) -> b).orElseThrow().path("top1_err").asDouble();
        assertTrue(lastTop1 < 60, "a learnable sample: top-1 error " + lastTop1 + " should be well under chance (90)");
        double bestModel = metrics.stream().filter(m -> m.path("_type").asText().equals("test_epoch"))
                .mapToDouble(m -> m.path("top1_err").asDouble()).min().orElseThrow();
        Checkpoint best = store.load(new org.apache.hadoop.fs.Path(store.directory(), "best"), layout);
        assertEquals(bestModel, best.testErr(), 1e-4, "best/ keeps the model of its best epoch");
        assertTrue(prepareOutput.contains("train: skipped " + uri + "/data/sample-raw/train/n01443537/n01443537_empty.JPEG: empty file"),
                "the empty file is named:\n" + prepareOutput);
        assertTrue(prepareOutput.contains("n01440764_truncated.JPEG: truncated JPEG"), "the truncated one too");
        assertTrue(prepareOutput.contains("train: 640 images"), prepareOutput);
        assertTrue(output.contains("2 files were left out when it was prepared"), "training says so too:\n" + output);
        assertTrue(output.contains("epoch 2 attempt 1 failed"), "the injected failure is reported");
        assertEquals(3, snapshotFiles(snapshots, 1, 0).size(), "the failed attempt sent snapshots (iterations 0, 4, 8) that the EMA dropped");
    }

    /** The float tensors other than BN running means and variances, concatenated. */
    private static float[] withoutBnStatistics(ModelState state) {
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

    /** EMA.md's update, written out here: at iterations 0, P, 2P, ... ema = ema*(1-a) + w*a in float32. */
    private ModelState replayEpoch(ModelState start, Path snapshots, int epoch) throws Exception {
        double adjust = (double) cfg.getInt("TRAIN.BATCH_SIZE") / cfg.getInt("OPTIM.MAX_EPOCH") * cfg.getInt("OPTIM.EMA_UPDATE_PERIOD");
        double alpha = epoch < cfg.getInt("OPTIM.WARMUP_EPOCHS") ? 1.0 : Math.min(1.0, cfg.getFloat("OPTIM.EMA_ALPHA") * adjust);
        int attempt = epoch == 1 ? 1 : 0; // the epoch whose first attempt failed was trained again
        List<Path> files = snapshotFiles(snapshots, epoch, attempt);
        int iterations = 640 / cfg.getInt("TRAIN.BATCH_SIZE");
        int period = cfg.getInt("OPTIM.EMA_UPDATE_PERIOD");
        assertEquals((iterations + period - 1) / period, files.size(), "snapshots at iterations 0, P, 2P, ... of epoch " + epoch);
        ModelState ema = start.copy();
        for (Path file : files) {
            ModelState weights = SnapshotFiles.read(file, layout);
            for (int i = 0; i < ema.floats().length; i++) {
                ema.floats()[i] = ema.floats()[i] * (float) (1 - alpha) + weights.floats()[i] * (float) alpha;
            }
            System.arraycopy(weights.longs(), 0, ema.longs(), 0, ema.longs().length);
        }
        return ema;
    }

    private static List<Path> snapshotFiles(Path snapshots, int epoch, int attempt) throws Exception {
        try (Stream<Path> list = Files.list(snapshots)) {
            return list.filter(p -> p.getFileName().toString().startsWith(String.format("e%04d_a%d_", epoch, attempt))).sorted().toList();
        }
    }

    @Test
    @Order(2)
    void killedDuringAnEpochResumesFromTheLastCheckpointAndReproducesTheRun() throws Exception {
        String outDir = uri + "/runs/killed";
        org.apache.hadoop.fs.Path first = new org.apache.hadoop.fs.Path(outDir + "/checkpoints/" + Checkpoint.directoryName(0));
        SparkSubmitRun doomed = SparkSubmitRun.startTrain(work.resolve("logs/killed.log"), Map.of(),
                "TRAIN.DATASET", dataset, "OUT_DIR", outDir, "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS));
        long deadline = System.currentTimeMillis() + 8 * 60_000;
        while (!fs.exists(first)) {
            assertTrue(doomed.process.isAlive(), "the run ended before its first checkpoint; see " + doomed.log);
            assertTrue(System.currentTimeMillis() < deadline, "no checkpoint after 8 minutes");
            Thread.sleep(200);
        }
        Thread.sleep(2500); // into the second epoch's training stage
        doomed.kill();
        CheckpointStore store = new CheckpointStore(fs, new org.apache.hadoop.fs.Path(outDir));
        int before = store.committed().size();
        assertTrue(before < EPOCHS, "killed before the end");

        SparkSubmitRun resumed = SparkSubmitRun.startTrain(work.resolve("logs/resumed.log"), Map.of(),
                "TRAIN.DATASET", dataset, "OUT_DIR", outDir, "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS));
        assertEquals(0, resumed.waitFor(10), () -> "the resumed run failed; see " + resumed.log);
        assertTrue(resumed.output().contains("resuming from " + outDir + "/checkpoints/" + Checkpoint.directoryName(before - 1)),
                resumed.output());
        assertEquals(EPOCHS, store.committed().size());
        List<String> trainEpochs = metrics(outDir).stream().filter(m -> m.path("_type").asText().equals("train_epoch"))
                .map(m -> m.path("epoch").asText()).toList();
        assertEquals(List.of("1/3", "2/3", "3/3"), trainEpochs, "each epoch once in metrics.jsonl");

        // Every random choice derives from (seed, epoch, rank, key): the resumed run ends where the
        // uninterrupted one of the first test did.
        Checkpoint uninterrupted = new CheckpointStore(fs, new org.apache.hadoop.fs.Path(uri + "/runs/main"))
                .load(new org.apache.hadoop.fs.Path(uri + "/runs/main/checkpoints/" + Checkpoint.directoryName(EPOCHS - 1)), layout);
        Checkpoint end = store.load(store.committed().get(EPOCHS - 1), layout);
        assertClose(uninterrupted.model().floats(), end.model().floats(), "resumed vs uninterrupted model");
        assertClose(uninterrupted.ema().floats(), end.ema().floats(), "resumed vs uninterrupted EMA");
    }

    @Test
    @Order(3)
    void badInputFailsWithOneLineBeforeAnySparkStage() throws Exception {
        expectFailure("missing-dataset", "dataset path " + uri + "/data/nowhere does not exist: check TRAIN.DATASET",
                "TRAIN.DATASET", uri + "/data/nowhere", "OUT_DIR", uri + "/runs/bad");
        expectFailure("unknown-key", "unknown config key OPTIM.BASE_LRR on the command line (did you mean OPTIM.BASE_LR?)",
                "TRAIN.DATASET", dataset, "OUT_DIR", uri + "/runs/bad", "OPTIM.BASE_LRR", "0.1");
        expectFailure("wrong-type", "config key OPTIM.MAX_EPOCH expects an integer, got 'three' (default: 200)",
                "TRAIN.DATASET", dataset, "OUT_DIR", uri + "/runs/bad", "OPTIM.MAX_EPOCH", "three");
        assertFalse(fs.exists(new org.apache.hadoop.fs.Path(uri + "/runs/bad/checkpoints")));
    }

    private void expectFailure(String name, String message, String... overrides) throws Exception {
        SparkSubmitRun run = SparkSubmitRun.startTrain(work.resolve("logs/" + name + ".log"), Map.of(), overrides);
        int exit = run.waitFor(3);
        String output = run.output();
        assertNotEquals(0, exit, name + " must fail");
        List<String> errors = output.lines().filter(l -> l.startsWith("emaspark: error: ")).toList();
        assertEquals(List.of("emaspark: error: " + message), errors, output);
        assertFalse(output.contains("Stage") || output.contains("stage ") || output.contains("Executor"),
                "no Spark stage may start:\n" + output);
    }

    private List<JsonNode> metrics(String outDir) throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(
                fs.open(new org.apache.hadoop.fs.Path(outDir + "/metrics.jsonl")), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                lines.add(JSON.readTree(line));
            }
        }
        return lines;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]) / Math.max(1.0, Math.abs(expected[i])));
        }
        assertTrue(worst <= 1e-6, what + ": largest difference " + worst);
    }

    private static void deleteRecursively(Path dir) throws Exception {
        if (Files.exists(dir)) {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
