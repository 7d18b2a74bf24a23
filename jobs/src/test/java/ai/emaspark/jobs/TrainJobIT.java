package ai.emaspark.jobs;

import static ai.emaspark.jobs.ItPlatform.EPOCHS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.checkpoint.PostHocStore;
import ai.emaspark.ema.EmaBank;
import ai.emaspark.ema.PowerEma;
import ai.emaspark.ema.SnapshotFiles;
import ai.emaspark.jobs.local.MultiHostCluster;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The job as users run it on a cluster: jobs/bin/spark-submit against a Spark standalone master with
 * two workers in their own network namespaces (their own addresses, Spark-assigned fake GPUs), a
 * real MiniDFSCluster, real JPEG files (two of them damaged), real sockets between the executors;
 * links taken down, machines killed, the driver killed, and every run that finishes ending with
 * the fault-free run's model and EMA, bit for bit.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(ItPlatform.Resolver.class)
class TrainJobIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** "0 at 10.77.0.12:43897 on cpu (Spark assigned gpu 1; ...)" in the driver's "epoch k/N: ranks ..." line. */
    private static final Pattern RANK = Pattern.compile("(\\d+) at ([\\d.]+):(\\d+) on (cpu|gpu\\(\\d+\\))(?: \\(Spark assigned gpu (\\w+))?");
    /** What the ring's timeout (spark.emaspark.ring.timeout in conf/spark-cluster.conf) is. */
    private static final int RING_TIMEOUT_S = 20;
    /**
     * A silent peer fails the ring on whichever side waits out the timeout first: the receive ("sent
     * nothing") or, when the send buffer was full, the send ("took nothing"). Either names the peer.
     */
    private static final String SILENT = "(?:sent|took) nothing";
    /** bf16 on the wire against fp32 (jobs/bench/README.md, "Distributed speed"): relative, of every epoch's train loss. */
    private static final double BF16_LOSS_TOLERANCE = 0.15;
    /** ... and in points of top-1 error above fp32's, last epoch, model and EMA, on the 120 validation images. */
    private static final double BF16_ERR_TOLERANCE = 10.0;

    private ItPlatform platform;

    @BeforeAll
    void platformUp(ItPlatform platform) {
        this.platform = platform;
    }

    private void assumeCluster() {
        assumeTrue(platform.cluster != null, "multi-host tests skipped: " + platform.clusterMissing);
    }

    @Test
    @Order(1)
    void faultFreeRunOnTwoHostsKeepsTheEmaOnTheDriverAndCheckpointsBoth() throws Exception {
        assumeCluster();
        ItPlatform.Reference reference = platform.reference();
        CheckpointStore store = platform.store(reference.outDir());
        List<org.apache.hadoop.fs.Path> committed = store.committed();
        assertEquals(EPOCHS, committed.size(), "one checkpoint per epoch");
        ModelState ema = SnapshotFiles.read(reference.snapshots().resolve("start_e0000.bin"), platform.layout);
        for (int epoch = 0; epoch < EPOCHS; epoch++) {
            org.apache.hadoop.fs.Path dir = committed.get(epoch);
            assertEquals(Checkpoint.directoryName(epoch), dir.getName());
            for (String entry : List.of("model.safetensors", "ema.safetensors", "optimizer.safetensors", "meta.json")) {
                assertTrue(platform.fs.exists(new org.apache.hadoop.fs.Path(dir, entry)), dir + " lacks " + entry);
            }
            Checkpoint checkpoint = store.load(dir, platform.layout);
            assertFalse(java.util.Arrays.equals(checkpoint.model().floats(), checkpoint.ema().floats()),
                    "the EMA entry must differ from the model entry");
            ModelState replayed = EmaReplay.epoch(platform, ema, reference.snapshots(), epoch);
            // Precise BN (pycls's default) then replaces the BN running statistics of model and EMA.
            EmaReplay.assertClose(EmaReplay.withoutBnStatistics(replayed), EmaReplay.withoutBnStatistics(checkpoint.ema()),
                    "epoch " + (epoch + 1) + " EMA vs the formula over its snapshots");
            assertFalse(java.util.Arrays.equals(replayed.floats(), checkpoint.ema().floats()),
                    "precise BN statistics replaced the EMA's running statistics");
            assertArrayEquals(replayed.longs(), checkpoint.ema().longs(), "integer buffers are copied");
            ema = checkpoint.ema(); // the next epoch's EMA starts from it, precise statistics included
        }
        assertPowerEmasFollowTheirFormula(store, committed, reference);

        List<JsonNode> metrics = metrics(platform, reference.outDir());
        for (String type : List.of("train_epoch", "test_epoch", "test_ema_epoch")) {
            assertEquals(EPOCHS, metrics.stream().filter(m -> m.path("_type").asText().equals(type)).count(), type);
        }
        // Progress while an epoch runs: rank 0's train_iter stats every LOG_PERIOD (5) of the 20 iterations,
        // in metrics.jsonl before their epoch's train_epoch line, and in the driver's log with an ETA.
        List<JsonNode> iterations = metrics.stream().filter(m -> m.path("_type").asText().equals("train_iter")).toList();
        assertEquals(EPOCHS * 4, iterations.size(), "train_iter lines");
        assertEquals("1/3", iterations.get(0).path("epoch").asText());
        assertEquals("5/20", iterations.get(0).path("iter").asText());
        assertTrue(iterations.get(0).path("eta").asText().matches("\\d\\d,\\d\\d:\\d\\d:\\d\\d"), iterations.get(0).toString());
        assertTrue(iterations.get(0).path("images_per_sec").asDouble() > 0, iterations.get(0).toString());
        assertTrue(metrics.indexOf(iterations.get(3)) < metrics.indexOf(metrics.stream()
                .filter(m -> m.path("_type").asText().equals("train_epoch")).findFirst().orElseThrow()), "in order");
        assertEquals(EPOCHS * 4, reference.output().lines()
                .filter(l -> l.contains("ProgressRelay: json_stats: {\"_type\":\"train_iter\"") && l.contains("\"eta\":\"")).count(),
                "the driver logs every train_iter line once");
        double lastTop1 = metrics.stream().filter(m -> m.path("_type").asText().equals("test_epoch"))
                .reduce((a, b) -> b).orElseThrow().path("top1_err").asDouble();
        assertTrue(lastTop1 < 60, "a learnable sample: top-1 error " + lastTop1 + " should be well under chance (90)");
        double bestModel = metrics.stream().filter(m -> m.path("_type").asText().equals("test_epoch"))
                .mapToDouble(m -> m.path("top1_err").asDouble()).min().orElseThrow();
        Checkpoint best = store.loadWeights(new org.apache.hadoop.fs.Path(store.directory(), "best"), platform.layout);
        assertEquals(bestModel, best.testErr(), 1e-4, "best/ keeps the model of its best epoch");
        String prepared = platform.prepareOutput;
        assertTrue(prepared.contains("train: skipped " + platform.uri + "/data/sample-raw/train/n01443537/n01443537_empty.JPEG: empty file"),
                "the empty file is named:\n" + prepared);
        assertTrue(prepared.contains("n01440764_truncated.JPEG: truncated JPEG"), "the truncated one too");
        assertTrue(prepared.contains("train: 640 images"), prepared);
        assertTrue(prepared.contains("PrepareProgress: train: read 642 of 642 files (100 %"), "Prepare's progress:\n" + prepared);
        assertTrue(reference.output().contains("2 files were left out when it was prepared"), "training says so too");

        // Every epoch's ring: one rank per worker, each at its worker's own address, none on loopback,
        // each on the GPU Spark gave it (the CPU here: the engine has no CUDA, and the log says so).
        List<List<Rank>> epochs = ranks(reference.output());
        assertEquals(EPOCHS, epochs.size(), reference.output());
        for (List<Rank> ranks : epochs) {
            assertEquals(2, ranks.size());
            assertEquals(Set.of(MultiHostCluster.workerAddress(1), MultiHostCluster.workerAddress(2)),
                    Set.of(ranks.get(0).host(), ranks.get(1).host()), "no two ranks share an address: " + ranks);
            for (Rank rank : ranks) {
                assertEquals("cpu", rank.device());
                assertTrue(rank.sparkGpu() != null, "Spark assigned a GPU to rank " + rank.rank());
            }
        }
        assertTrue(reference.output().contains("the PyTorch engine has no CUDA, so the CPU is used"), reference.output());
    }

    /**
     * conf/quickstart.yaml's power EMAs over the same snapshots: each checkpoint's entry is the formula
     * over the epoch's snapshots with t running over the whole run, from the previous checkpoint's
     * state; each has a test line per epoch and a best/ entry.
     */
    private void assertPowerEmasFollowTheirFormula(CheckpointStore store, List<org.apache.hadoop.fs.Path> committed,
            ItPlatform.Reference reference) throws Exception {
        List<Double> widths = platform.cfg.getFloatList("EMA.POWER_SIGMA_RELS");
        assertEquals(2, widths.size(), "conf/quickstart.yaml keeps two power EMAs");
        ModelState init = SnapshotFiles.read(reference.snapshots().resolve("start_e0000.bin"), platform.layout);
        List<ModelState> previous = new ArrayList<>(List.of(init, init));
        long updates = 0;
        for (int epoch = 0; epoch < EPOCHS; epoch++) {
            Checkpoint checkpoint = store.load(committed.get(epoch), platform.layout);
            for (int k = 0; k < widths.size(); k++) {
                EmaBank.Power power = checkpoint.emas().powers().get(k);
                assertEquals(EmaBank.Power.name(widths.get(k)), power.name());
                ModelState replayed = EmaReplay.powerEpoch(previous.get(k), PowerEma.gamma(widths.get(k)), updates,
                        reference.snapshots(), epoch, platform.layout);
                EmaReplay.assertClose(EmaReplay.withoutBnStatistics(replayed), EmaReplay.withoutBnStatistics(power.state()),
                        "epoch " + (epoch + 1) + " power EMA " + power.name() + " vs the formula over its snapshots");
                assertFalse(java.util.Arrays.equals(power.state().floats(), checkpoint.ema().floats()), power.name() + " is not pycls's EMA");
                previous.set(k, power.state());
            }
            updates += EmaReplay.snapshotFiles(reference.snapshots(), epoch, 0).size();
            assertEquals(updates, checkpoint.emas().updates(), "t after epoch " + (epoch + 1));
        }
        List<JsonNode> metrics = metrics(platform, reference.outDir());
        org.apache.hadoop.fs.Path best = new org.apache.hadoop.fs.Path(store.directory(), "best");
        for (double width : widths) {
            String name = EmaBank.Power.name(width);
            assertEquals(EPOCHS, metrics.stream().filter(m -> m.path("_type").asText().equals("test_ema_" + name + "_epoch")).count(),
                    name + " is tested every epoch");
            assertTrue(platform.fs.exists(new org.apache.hadoop.fs.Path(best, CheckpointStore.powerEntry(name))), "best/ holds " + name);
        }
    }

    /** Model, momentum and every EMA (pycls's and the power EMAs, and their t) bit for bit as {@code expected}'s. */
    static void assertSameRun(Checkpoint expected, Checkpoint actual, String what) {
        assertArrayEquals(expected.model().floats(), actual.model().floats(), "model as " + what);
        assertArrayEquals(expected.ema().floats(), actual.ema().floats(), "EMA as " + what);
        assertArrayEquals(expected.optimizer().momentum(), actual.optimizer().momentum(), "momentum as " + what);
        assertEquals(expected.emas().updates(), actual.emas().updates(), "power EMA updates as " + what);
        assertEquals(expected.emas().powers().size(), actual.emas().powers().size(), "power EMAs as " + what);
        for (int k = 0; k < expected.emas().powers().size(); k++) {
            assertArrayEquals(expected.emas().powers().get(k).state().floats(), actual.emas().powers().get(k).state().floats(),
                    "power EMA " + expected.emas().powers().get(k).name() + " as " + what);
        }
    }

    /** The power EMAs stored for post-hoc reconstruction: the same stores, each state bit for bit. */
    static void assertSamePostHoc(ItPlatform platform, String expectedOutDir, String actualOutDir, String what) throws Exception {
        PostHocStore expected = new PostHocStore(platform.fs, new org.apache.hadoop.fs.Path(expectedOutDir));
        PostHocStore actual = new PostHocStore(platform.fs, new org.apache.hadoop.fs.Path(actualOutDir));
        List<PostHocStore.Stored> stored = expected.list();
        assertEquals(stored.stream().map(s -> s.name() + "@" + s.updates()).toList(),
                actual.list().stream().map(s -> s.name() + "@" + s.updates()).toList(), "post-hoc stores as " + what);
        for (int i = 0; i < stored.size(); i++) {
            assertArrayEquals(expected.load(stored.get(i), platform.layout).floats(),
                    actual.load(actual.list().get(i), platform.layout).floats(), "stored " + stored.get(i).name() + " as " + what);
        }
    }

    @Test
    @Order(2)
    void aFailedTaskASilentMachineAndADeadMachineAreRetriedToTheFaultFreeResult() throws Exception {
        assumeCluster();
        MultiHostCluster cluster = platform.cluster;
        ItPlatform.Reference reference = platform.reference();
        Path snapshots = platform.work.resolve("snapshots-faults");
        ItPlatform.deleteRecursively(snapshots);
        String outDir = platform.uri + "/runs/faults";
        Set<Path> before = cluster.applications();
        SparkSubmitRun run = SparkSubmitRun.startTrain(platform.cluster()
                        // rank 1 dies at iteration 10 of the first epoch, in its first attempt
                        .with("--conf", "spark.executorEnv.EMASPARK_DEBUG_FAIL_ONCE=0:1:10")
                        .withEnv("EMASPARK_DRIVER_OPTS", "-Demaspark.debug.emaSnapshotDir=" + snapshots),
                platform.work.resolve("logs/faults.log"), "TRAIN.DATASET", platform.dataset, "OUT_DIR", outDir,
                "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS), "LOG_PERIOD", "1");

        // Epoch 2: worker 2 goes silent, its link down and its processes stopped (SIGSTOP), as a hung
        // machine: no reset tells anyone. The ring's timeout fails the attempt; Spark drops the silent
        // executor after spark.network.timeout and the master starts a new one on worker 1.
        cluster.awaitExecutorLog(before, iterationLine(2, 3), 5 * 60_000);
        cluster.freeze(2);
        int exit;
        try {
            // Epoch 3: worker 1's machine dies; a new worker process starts there.
            cluster.awaitExecutorLog(before, iterationLine(3, 3), 5 * 60_000);
            cluster.kill(1);
            cluster.startWorker(1);
            exit = run.waitFor(10);
        } finally {
            cluster.thaw(2);
            cluster.kill(2); // stopped mid-task: a fresh worker for the tests after this one
            cluster.startWorker(2);
        }
        cluster.awaitAliveWorkers(2, 90_000);

        assertEquals(0, exit, () -> "the run failed; see " + run.log);
        String output = run.output();
        assertTrue(output.contains("epoch 1/3 attempt 1 failed: injected failure"), output);
        assertTrue(Pattern.compile("epoch 2/3 attempt 1 failed: rank \\d at [\\d.:]+ reports: rank \\d at "
                + Pattern.quote(MultiHostCluster.workerAddress(2)) + ":\\d+ " + SILENT + " for " + RING_TIMEOUT_S + " s")
                .matcher(output).find(), "the silent machine is named: " + attemptLines(output));
        // It took the ring's timeout, then attempts that waited for the silent executor to be dropped
        // (spark.network.timeout, 30 s here) and its cores freed (the master's spark.worker.timeout, 30 s on the platform).
        assertTrue(ranks(output).get(1).stream().allMatch(r -> r.host().equals(MultiHostCluster.workerAddress(1))),
                "epoch 2 went on without the silent machine: " + ranks(output).get(1));
        assertTrue(output.contains("epoch 3/3 attempt 1 failed"), output);
        assertFalse(EmaReplay.snapshotFiles(snapshots, 0, 0).isEmpty(), "the failed attempt sent snapshots that the EMA dropped");

        assertSameRun(reference.last(), platform.lastCheckpoint(outDir), "without faults");
        assertSamePostHoc(platform, reference.outDir(), outDir, "without faults");
        assertEquals(List.of("1/3", "2/3", "3/3"), trainEpochs(platform, outDir), "each epoch once in metrics.jsonl");
    }

    @Test
    @Order(3)
    void aLinkDownForGoodFailsWithOneLineThenTheSameCommandResumesEvenAfterTheDriverIsKilled() throws Exception {
        assumeCluster();
        MultiHostCluster cluster = platform.cluster;
        // Executors of 2 cores: each worker holds one, so no other worker can replace worker 2's.
        SparkSubmitRun.Target wide = platform.cluster().with("--conf", "spark.executor.cores=2",
                "--conf", "spark.stage.maxConsecutiveAttempts=2");
        String outDir = platform.uri + "/runs/partitioned";
        String[] command = {"TRAIN.DATASET", platform.dataset, "OUT_DIR", outDir, "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS),
                "LOG_PERIOD", "1"};

        Set<Path> before = cluster.applications();
        SparkSubmitRun partitioned = SparkSubmitRun.startTrain(wide, platform.work.resolve("logs/partitioned.log"), command);
        cluster.awaitExecutorLog(before, iterationLine(2, 3), 5 * 60_000);
        cluster.linkDown(2);
        long down = System.nanoTime();
        int exit;
        try {
            exit = partitioned.waitFor(4);
        } finally {
            cluster.linkUp(2);
        }
        double seconds = (System.nanoTime() - down) / 1e9;
        assertNotEquals(0, exit, "the run must fail");
        List<String> errors = partitioned.errors();
        assertEquals(1, errors.size(), partitioned.output());
        String error = errors.get(0);
        assertTrue(Pattern.compile("rank \\d at " + Pattern.quote(MultiHostCluster.workerAddress(2)) + ":\\d+ " + SILENT)
                .matcher(error).find(), "names the rank and address that stopped answering: " + error);
        assertTrue(error.contains("epoch 2/3 cannot go on after 2 attempts (spark.stage.maxConsecutiveAttempts): first: "), error);
        assertTrue(Pattern.compile("; last: (NUM_GPUS 2 needs 2 task slots|its 2 ranks could not start)").matcher(error).find(), error);
        assertTrue(error.contains("resume with a NUM_GPUS that the cluster offers and TRAIN.BATCH_SIZE divides by"), error);
        assertTrue(error.contains(outDir + "/checkpoints/" + Checkpoint.directoryName(0) + ", is kept"), error);
        // the ring's timeout, then an attempt that waits for slots (spark.emaspark.slots.timeout, 30 s)
        assertTrue(seconds > RING_TIMEOUT_S + 30 && seconds < 90, "failed " + seconds + " s after the link went down");
        CheckpointStore store = platform.store(outDir);
        assertEquals(1, store.committed().size());
        store.load(store.committed().get(0), platform.layout); // verifies every entry's checksum

        // The link is back: the same command resumes from that checkpoint. Its driver is killed in
        // the last epoch, and the same command once more ends where the fault-free run did.
        cluster.awaitAliveWorkers(2, 90_000);
        before = cluster.applications();
        SparkSubmitRun doomed = SparkSubmitRun.startTrain(wide, platform.work.resolve("logs/killed.log"), command);
        cluster.awaitExecutorLog(before, iterationLine(3, 3), 5 * 60_000);
        doomed.kill();
        assertTrue(doomed.output().contains("resuming from " + outDir + "/checkpoints/" + Checkpoint.directoryName(0)),
                doomed.output());
        assertEquals(2, store.committed().size(), "killed in the last epoch");

        SparkSubmitRun resumed = SparkSubmitRun.startTrain(wide, platform.work.resolve("logs/resumed.log"), command);
        assertEquals(0, resumed.waitFor(10), () -> "the resumed run failed; see " + resumed.log);
        assertTrue(resumed.output().contains("resuming from " + outDir + "/checkpoints/" + Checkpoint.directoryName(1)),
                resumed.output());
        Checkpoint end = platform.lastCheckpoint(outDir);
        Checkpoint uninterrupted = platform.reference().last();
        assertSameRun(uninterrupted, end, "uninterrupted (resumed twice)");
        assertSamePostHoc(platform, platform.reference().outDir(), outDir, "uninterrupted (resumed twice)");
        assertEquals(List.of("1/3", "2/3", "3/3"), trainEpochs(platform, outDir), "each epoch once in metrics.jsonl");
    }

    @Test
    @Order(5)
    void moreReplicasThanTheClusterHasSlotsFailWithOneLineWithinAMinute() throws Exception {
        assumeCluster();
        long start = System.nanoTime();
        SparkSubmitRun run = SparkSubmitRun.startTrain(platform.cluster(), platform.work.resolve("logs/too-many.log"),
                "TRAIN.DATASET", platform.dataset, "OUT_DIR", platform.uri + "/runs/too-many", "NUM_GPUS", "5",
                "TRAIN.BATCH_SIZE", "40", "TEST.BATCH_SIZE", "40");
        int exit = run.waitFor(3);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertNotEquals(0, exit);
        assertEquals(List.of("emaspark: error: NUM_GPUS 5 needs 5 task slots at once (one barrier task per replica) but the "
                + "cluster offers 4 task slots on 4 executors after 30 s (spark.emaspark.slots.timeout): lower NUM_GPUS, or "
                + "give the job more executors, cores or GPUs; no checkpoint was written yet"), run.errors(), run.output());
        assertTrue(seconds < 60, "took " + seconds + " s");
    }

    /**
     * Someone else on the network keeps poking at the driver's EMA service and at every rank's ring
     * port (logged by the executors before their peers connect) for the whole run: every visit is
     * refused, no attempt fails, and the run ends bit for bit where the undisturbed one did.
     */
    @Test
    @Order(6)
    void strangersOnTheNetworkChangeNothingAndAFileOutDirHasOneOwner() throws Exception {
        assumeCluster();
        ItPlatform.Reference reference = platform.reference();
        // OUT_DIR on file:// (the platform's hosts share this machine's disk, as NFS would): of two drivers
        // started together one trains and the other is refused; so is a third started while the first trains.
        Path local = platform.work.resolve("runs/strangers");
        ItPlatform.deleteRecursively(local);
        String outDir = local.toUri().toString();
        // The exchange in 4 buckets, each stepped while the next travels, over 2 connections per link (each
        // accepted past the strangers): the bits of one pass on one connection (the reference's).
        SparkSubmitRun.Target shared = platform.cluster().with("--conf", "spark.emaspark.paths.shared=true",
                "--conf", "spark.emaspark.ring.buckets=4", "--conf", "spark.emaspark.ring.streams=2");
        String[] command = {"TRAIN.DATASET", platform.dataset, "OUT_DIR", outDir, "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS)};
        Set<Path> before = platform.cluster.applications();
        List<SparkSubmitRun> together = List.of(SparkSubmitRun.startTrain(shared, platform.work.resolve("logs/strangers.log"), command),
                SparkSubmitRun.startTrain(shared, platform.work.resolve("logs/strangers-together.log"), command));
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (together.stream().allMatch(r -> r.process.isAlive()) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        SparkSubmitRun refused = together.stream().filter(r -> !r.process.isAlive()).findFirst().orElseThrow();
        SparkSubmitRun run = together.get(together.indexOf(refused) == 0 ? 1 : 0);
        assertOwnedBy(run, refused, outDir);
        SparkSubmitRun later = null;
        boolean laterRefusedWhileTheFirstTrained = false;
        Stranger stranger = new Stranger();
        Set<String> ringPorts = new java.util.HashSet<>();
        Pattern emaPort = Pattern.compile("EMA service listening on [\\d.]+:(\\d+)");
        Pattern ringPort = Pattern.compile("rank \\d of \\d at ([\\d.]+):(\\d+)");
        int emaVisits = 0;
        java.util.concurrent.ExecutorService visits = java.util.concurrent.Executors.newFixedThreadPool(4);
        java.util.concurrent.Future<?> emaVisit = null;
        while (run.process.isAlive()) {
            Matcher ema = emaPort.matcher(run.output());
            boolean emaListening = ema.find();
            if (emaListening && later == null) {
                later = SparkSubmitRun.startTrain(shared, platform.work.resolve("logs/strangers-later.log"), command);
            }
            laterRefusedWhileTheFirstTrained |= later != null && !later.process.isAlive() && run.process.isAlive();
            if (emaListening && (emaVisit == null || emaVisit.isDone())) {
                int port = Integer.parseInt(ema.group(1));
                emaVisit = visits.submit(() -> stranger.visit(MultiHostCluster.HOST, port));
                emaVisits++;
            }
            for (Path app : platform.cluster.applications()) {
                if (before.contains(app)) {
                    continue;
                }
                for (Path stderr : executorLogs(app)) {
                    Matcher ring = ringPort.matcher(Files.readString(stderr, StandardCharsets.ISO_8859_1));
                    while (ring.find()) {
                        if (ringPorts.add(ring.group(1) + ":" + ring.group(2))) {
                            String host = ring.group(1);
                            int port = Integer.parseInt(ring.group(2));
                            visits.submit(() -> stranger.visit(host, port));
                        }
                    }
                }
            }
            Thread.sleep(100);
        }
        visits.shutdownNow();
        assertEquals(0, run.waitFor(1), () -> "the run failed; see " + run.log);
        String output = run.output();
        assertTrue(emaVisits > 0 && ringPorts.size() >= 2, "the stranger visited the EMA service " + emaVisits
                + " times and " + ringPorts.size() + " ring ports");
        assertTrue(output.contains("EMA service: refused a connection from /" + MultiHostCluster.HOST), output);
        assertTrue(output.contains("4 buckets, each stepped while the next travels, 2 connections per link"), output);
        assertFalse(output.contains("attempt 1 failed"), "no attempt failed:\n" + output);
        assertTrue(laterRefusedWhileTheFirstTrained, "a driver started while the first trained was refused while it lived");
        assertOwnedBy(run, later, outDir);
        assertSameRun(reference.last(), platform.lastCheckpoint(outDir), "without strangers");
    }

    /** {@code refused} ended with one line naming the run that owns OUT_DIR; {@code owner} lived on. */
    private static void assertOwnedBy(SparkSubmitRun owner, SparkSubmitRun refused, String outDir) throws Exception {
        assertEquals(2, refused.waitFor(2), () -> "a second driver on OUT_DIR is refused; see " + refused.log);
        List<String> errors = refused.errors();
        assertEquals(1, errors.size(), errors::toString);
        assertTrue(errors.get(0).startsWith("emaspark: error: OUT_DIR " + new org.apache.hadoop.fs.Path(outDir)
                + " is used by another run that is still going: emaspark Train of "), errors.get(0));
        assertTrue(owner.process.isAlive() || owner.process.exitValue() == 0, "the owner lived on; see " + owner.log);
    }

    private static List<Path> executorLogs(Path app) throws Exception {
        try (Stream<Path> executors = Files.list(app)) {
            return executors.map(e -> e.resolve("stderr")).filter(Files::isRegularFile).toList();
        }
    }

    /**
     * bf16 on the wire, in 4 buckets, with a task failure in epoch 2: the retried attempt repeats the
     * failed one's bits (every EMA snapshot it sent before the failure), and training stays within the
     * README's stated tolerance of the fp32 reference: every epoch's train loss within
     * {@value #BF16_LOSS_TOLERANCE} of fp32's (relative), and the last top-1 errors of model and EMA no
     * more than {@value #BF16_ERR_TOLERANCE} points above fp32's on the 120 validation images (one
     * epoch's error swings by tens of points on them with any perturbation; the loss over 640 images
     * does not).
     */
    @Test
    @Order(7)
    void bf16OnTheWireTrainsWithinToleranceOfFp32AndARetryRepeatsItsBits() throws Exception {
        assumeCluster();
        ItPlatform.Reference reference = platform.reference();
        Path snapshots = platform.work.resolve("snapshots-bf16");
        ItPlatform.deleteRecursively(snapshots);
        String outDir = platform.uri + "/runs/bf16";
        SparkSubmitRun run = SparkSubmitRun.startTrain(platform.cluster()
                        .with("--conf", "spark.emaspark.ring.wire=bf16", "--conf", "spark.emaspark.ring.buckets=4",
                                "--conf", "spark.executorEnv.EMASPARK_DEBUG_FAIL_ONCE=1:1:10")
                        .withEnv("EMASPARK_DRIVER_OPTS", "-Demaspark.debug.emaSnapshotDir=" + snapshots),
                platform.work.resolve("logs/bf16.log"), "TRAIN.DATASET", platform.dataset, "OUT_DIR", outDir,
                "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS));
        assertEquals(0, run.waitFor(10), () -> "the run failed; see " + run.log);
        String output = run.output();
        assertTrue(output.contains("gradients all-reduced in bf16 on the wire (sums in fp32, loss and errors exact), "
                + "4 buckets"), output);
        assertTrue(output.contains("epoch 2/3 attempt 1 failed: injected failure"), attemptLines(output));

        List<Path> failed = EmaReplay.snapshotFiles(snapshots, 1, 0);
        assertTrue(failed.size() >= 2, "the failed attempt's snapshots before iteration 10: " + failed);
        for (Path first : failed) {
            Path again = snapshots.resolve(first.getFileName().toString().replace("_a0_", "_a1_"));
            assertArrayEquals(SnapshotFiles.read(first, platform.layout).floats(), SnapshotFiles.read(again, platform.layout).floats(),
                    "the retry repeats " + first.getFileName());
        }
        Path fp32Snapshot = reference.snapshots().resolve(failed.get(failed.size() - 1).getFileName());
        assertFalse(java.util.Arrays.equals(SnapshotFiles.read(fp32Snapshot, platform.layout).floats(),
                SnapshotFiles.read(failed.get(failed.size() - 1), platform.layout).floats()), "bf16 rounds: not fp32's bits");

        List<Double> fp32Loss = epochLosses(reference.outDir());
        List<Double> bf16Loss = epochLosses(outDir);
        Checkpoint fp32 = reference.last();
        Checkpoint end = platform.lastCheckpoint(outDir);
        String figures = String.format("train loss by epoch fp32 %s bf16 %s; last top-1 %% model fp32 %.3f bf16 %.3f, EMA fp32 "
                + "%.3f bf16 %.3f; last weights %.2f %% apart (L2, of fp32's norm)", fp32Loss, bf16Loss, fp32.testErr(),
                end.testErr(), fp32.emaErr(), end.emaErr(), 100 * relativeDistance(fp32.model().floats(), end.model().floats()));
        System.out.println("bf16 against fp32 on the sample: " + figures);
        for (int e = 0; e < EPOCHS; e++) {
            assertTrue(Math.abs(bf16Loss.get(e) - fp32Loss.get(e)) <= BF16_LOSS_TOLERANCE * fp32Loss.get(e), figures);
        }
        assertTrue(end.testErr() <= fp32.testErr() + BF16_ERR_TOLERANCE, figures);
        assertTrue(end.emaErr() <= fp32.emaErr() + BF16_ERR_TOLERANCE, figures);
        assertEquals(List.of("1/3", "2/3", "3/3"), trainEpochs(platform, outDir), "each epoch once in metrics.jsonl");
    }

    private List<Double> epochLosses(String outDir) throws Exception {
        return metrics(platform, outDir).stream().filter(m -> m.path("_type").asText().equals("train_epoch"))
                .map(m -> m.path("loss").asDouble()).toList();
    }

    private static double relativeDistance(float[] expected, float[] actual) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            diff += (expected[i] - actual[i]) * (double) (expected[i] - actual[i]);
            norm += expected[i] * (double) expected[i];
        }
        return Math.sqrt(diff / norm);
    }

    @Test
    @Order(8)
    void aNanInOneRanksGradientsStopsTheRunWithOneLineAndNoCheckpoint() throws Exception {
        String outDir = platform.uri + "/runs/diverged";
        SparkSubmitRun run = SparkSubmitRun.startTrain(platform.cluster().with("--conf", "spark.executorEnv.EMASPARK_DEBUG_NAN=0:1:5"),
                platform.work.resolve("logs/diverged.log"), "TRAIN.DATASET", platform.dataset, "OUT_DIR", outDir,
                "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS));
        assertNotEquals(0, run.waitFor(5));
        assertEquals(List.of("emaspark: error: epoch 1/3: training diverged: the loss averaged over the replicas is NaN at "
                + "epoch 1/3, iteration 7/20 (lr 0.2); lower OPTIM.BASE_LR or add warmup (OPTIM.WARMUP_EPOCHS), then start "
                + "again from the last checkpoint; no checkpoint was written yet"), run.errors(), run.output());
        assertFalse(run.output().contains("attempt 2"), "not retried: it would diverge again");
        assertEquals(List.of(), platform.store(outDir).committed(), "nothing of it is checkpointed");
    }

    @Test
    @Order(9)
    void badInputFailsWithOneLineBeforeAnySparkStage() throws Exception {
        String uri = platform.uri;
        expectFailure("missing-dataset", "dataset path " + uri + "/data/nowhere does not exist: check TRAIN.DATASET",
                "TRAIN.DATASET", uri + "/data/nowhere", "OUT_DIR", uri + "/runs/bad");
        expectFailure("unknown-key", "unknown config key OPTIM.BASE_LRR on the command line (did you mean OPTIM.BASE_LR?)",
                "TRAIN.DATASET", platform.dataset, "OUT_DIR", uri + "/runs/bad", "OPTIM.BASE_LRR", "0.1");
        expectFailure("wrong-type", "config key OPTIM.MAX_EPOCH expects an integer, got 'three' (default: 200)",
                "TRAIN.DATASET", platform.dataset, "OUT_DIR", uri + "/runs/bad", "OPTIM.MAX_EPOCH", "three");
        // Encryption without Spark's authentication would put the key in a broadcast anyone can fetch.
        expectFailure(platform.cluster().with("--conf", "spark.emaspark.crypto.enabled=true"), "crypto-without-auth",
                "spark.emaspark.crypto.enabled needs spark.authenticate true: without it the key travels in a broadcast anyone "
                        + "who reaches Spark's block managers can fetch; turn spark.authenticate on (YARN gives each application its "
                        + "own secret; elsewhere set spark.authenticate.secret), or leave spark.emaspark.crypto.enabled off",
                "TRAIN.DATASET", platform.dataset, "OUT_DIR", uri + "/runs/bad");
        assertFalse(platform.fs.exists(new org.apache.hadoop.fs.Path(uri + "/runs/bad/checkpoints")));

        // Nothing is deleted without being asked: an existing output is refused, and stays as it was.
        long rawFiles = platform.fs.getContentSummary(new org.apache.hadoop.fs.Path(uri + "/data/sample-raw")).getFileCount();
        Process generate = new ProcessBuilder("java", "-cp", SparkSubmitRun.JOBS.resolve("target/emaspark-jobs.jar") + ":"
                + SparkSubmitRun.JOBS.resolve("target/spark-home/jars") + "/*", "ai.emaspark.jobs.GenerateSample",
                "--out", uri + "/data/sample-raw").redirectErrorStream(true).start();
        String generated = new String(generate.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, generate.waitFor());
        assertTrue(generated.contains("emaspark: error: " + uri + "/data/sample-raw already exists: choose another --out, "
                + "or add --overwrite to replace it"), generated);
        SparkSubmitRun prepare = SparkSubmitRun.startPrepare(platform.cluster(), platform.work.resolve("logs/prepare-again.log"),
                "--src", uri + "/data/sample-raw", "--out", platform.dataset);
        assertEquals(2, prepare.waitFor(3));
        assertEquals(List.of("emaspark: error: output " + platform.dataset + " already exists: choose another --out, or add "
                + "--overwrite to replace it once the new one is complete"), prepare.errors(), prepare.output());
        assertEquals(rawFiles, platform.fs.getContentSummary(new org.apache.hadoop.fs.Path(uri + "/data/sample-raw")).getFileCount());
        assertTrue(platform.fs.exists(new org.apache.hadoop.fs.Path(platform.dataset, "manifest.json")));
    }

    private void expectFailure(String name, String message, String... overrides) throws Exception {
        expectFailure(platform.cluster(), name, message, overrides);
    }

    private void expectFailure(SparkSubmitRun.Target target, String name, String message, String... overrides) throws Exception {
        SparkSubmitRun run = SparkSubmitRun.startTrain(target, platform.work.resolve("logs/" + name + ".log"), overrides);
        int exit = run.waitFor(3);
        String output = run.output();
        assertNotEquals(0, exit, name + " must fail");
        assertEquals(List.of("emaspark: error: " + message), run.errors(), output);
        assertFalse(output.contains("Stage") || output.contains("stage ") || output.contains("Executor"),
                "no Spark stage may start:\n" + output);
    }

    /** A rank as the driver logs it once per epoch. */
    record Rank(int rank, String host, int port, String device, String sparkGpu) {}

    /** The ranks of every "epoch k/N: ranks ..." line of a driver log, in order. */
    static List<List<Rank>> ranks(String output) {
        List<List<Rank>> epochs = new ArrayList<>();
        for (String line : output.lines().filter(l -> l.contains("TrainStage: epoch") && l.contains(": ranks ")).toList()) {
            List<Rank> ranks = new ArrayList<>();
            Matcher m = RANK.matcher(line.substring(line.indexOf(": ranks ") + 8));
            while (m.find()) {
                ranks.add(new Rank(Integer.parseInt(m.group(1)), m.group(2), Integer.parseInt(m.group(3)), m.group(4), m.group(5)));
            }
            epochs.add(ranks);
        }
        return epochs;
    }

    /** The driver's lines about failed attempts: what an assertion on them shows first. */
    static String attemptLines(String output) {
        return output.lines().filter(l -> l.contains("TrainStage:") && l.contains("attempt")).collect(Collectors.joining("\n"));
    }

    /** What rank 0's train_iter line of that iteration holds (json_stats keys are sorted: eta comes between). */
    static String iterationLine(int epoch, int iteration) {
        return "\"epoch\":\"" + epoch + "/" + EPOCHS + "\",[^}]*\"iter\":\"" + iteration + "/";
    }

    static List<String> trainEpochs(ItPlatform platform, String outDir) throws Exception {
        return metrics(platform, outDir).stream().filter(m -> m.path("_type").asText().equals("train_epoch"))
                .map(m -> m.path("epoch").asText()).toList();
    }

    static List<JsonNode> metrics(ItPlatform platform, String outDir) throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(
                platform.fs.open(new org.apache.hadoop.fs.Path(outDir + "/metrics.jsonl")), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                lines.add(JSON.readTree(line));
            }
        }
        return lines;
    }
}
