package ai.emaspark.jobs;

import static ai.emaspark.jobs.ItPlatform.EPOCHS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.ema.SnapshotFiles;
import ai.emaspark.jobs.local.MultiHostCluster;
import ai.emaspark.model.ModelState;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileUtil;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What real clusters do that the platform's defaults hide: executors of several cores, a rank stuck
 * in a read while another fails, a lost machine whose replacement takes a minute, all with the ring
 * and slot timeouts the YARN conf ships; and a run resumed on fewer or more GPUs than it started
 * with, four ranks on the four fake GPUs. (A machine that goes silent is one of TrainJobIT's faults.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(ItPlatform.Resolver.class)
class RealClusterIT {
    /** conf/spark-yarn-gpu.conf leaves spark.emaspark.ring.timeout and slots.timeout at their defaults. */
    private static final String SHIPPED_RING_TIMEOUT = "120s";
    private static final int SHIPPED_SLOTS_TIMEOUT_S = 30;

    private ItPlatform platform;

    @BeforeAll
    void platformUp(ItPlatform platform) {
        this.platform = platform;
    }

    private void assumeCluster() {
        assumeTrue(platform.cluster != null, "multi-host tests skipped: " + platform.clusterMissing);
    }

    /**
     * Workers of 2 cores, executors of 2 cores and 1 GPU (item 1: the job used to ask for 2 cores, one
     * executor); dynamic allocation on in the cluster's defaults (item 5); epoch 1: rank 1 fails while
     * rank 0 hangs in a read (item 2: its slot must free at once); epoch 2: worker 1 dies and its
     * replacement starts 60 s later, longer than the slot timeout (item 2: attempts, not the run's end).
     */
    @Test
    @Order(1)
    void wideExecutorsAStuckRankAndASlowReplacementWithTheShippedTimeouts() throws Exception {
        assumeCluster();
        MultiHostCluster cluster = platform.cluster;
        ItPlatform.Reference reference = platform.reference();
        String outDir = platform.uri + "/runs/slow-replacement";
        Set<Path> before = cluster.applications();
        SparkSubmitRun run = SparkSubmitRun.startTrain(platform.cluster()
                        .with("--conf", "spark.executor.cores=2", "--conf", "spark.dynamicAllocation.enabled=true",
                                "--conf", "spark.emaspark.ring.timeout=" + SHIPPED_RING_TIMEOUT,
                                "--conf", "spark.emaspark.slots.timeout=" + SHIPPED_SLOTS_TIMEOUT_S + "s",
                                "--conf", "spark.executorEnv.EMASPARK_DEBUG_FAIL_ONCE=0:1:10",
                                "--conf", "spark.executorEnv.EMASPARK_DEBUG_STALL_ONCE=0:0:10"),
                platform.work.resolve("logs/slow-replacement.log"), "TRAIN.DATASET", platform.dataset, "OUT_DIR", outDir,
                "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS), "LOG_PERIOD", "1");
        cluster.awaitExecutorLog(before, TrainJobIT.iterationLine(2, 3), 5 * 60_000);
        cluster.kill(1);
        Thread.sleep(40_000); // past one slot timeout (30 s) of the attempt after the kill
        cluster.startWorker(1);

        int exit = run.waitFor(10);
        cluster.awaitAliveWorkers(2, 90_000);
        assertEquals(0, exit, () -> "the run failed; see " + run.log);
        String output = run.output();
        assertTrue(output.contains("spark.dynamicAllocation.enabled turned off for this application"), output);
        assertTrue(output.contains("asking the standalone master for 4 cores (spark.cores.max): 2 executors of "
                + "spark.executor.cores 2, 1 task slot(s) each, for 2 replicas"), output);
        assertTrue(output.contains("epoch 1/3 attempt 1 failed: injected failure"), output);
        assertFalse(output.contains("could not start"), "the hung rank freed its slot when its attempt was cancelled:\n" + output);
        assertTrue(Pattern.compile("epoch 2/3 attempt [23] failed: NUM_GPUS 2 needs 2 task slots at once .* but the cluster "
                + "offers 1 task slot on 1 executor after 30 s").matcher(output).find(), "a slow replacement uses attempts:\n" + output);

        TrainJobIT.assertSameRun(reference.last(), platform.lastCheckpoint(outDir), "without faults");
        assertEquals(List.of("1/3", "2/3", "3/3"), TrainJobIT.trainEpochs(platform, outDir), "each epoch once");
    }

    /**
     * Item 9: a 2-rank run stopped after epoch 1 (the reference's first checkpoint, copied) goes on
     * with 1 rank and, separately, with 4: the EMA carries on from the checkpoint's, and every later
     * EMA is the formula over the snapshots the driver applied.
     */
    @Test
    @Order(2)
    void aRunStoppedAfterEpochOneResumesOnOneRankAndOnFourWithTheEmaCarriedOn() throws Exception {
        assumeCluster();
        ItPlatform.Reference reference = platform.reference();
        Checkpoint first = checkpoint(reference.outDir(), 0);
        for (int gpus : new int[] {1, 4}) {
            String outDir = platform.uri + "/runs/resume-on-" + gpus;
            copyFirstEpoch(reference.outDir(), outDir);
            Path snapshots = platform.work.resolve("snapshots-resume-on-" + gpus);
            ItPlatform.deleteRecursively(snapshots);
            SparkSubmitRun run = SparkSubmitRun.startTrain(platform.cluster().withEnv("EMASPARK_DRIVER_OPTS",
                    "-Demaspark.debug.emaSnapshotDir=" + snapshots), platform.work.resolve("logs/resume-on-" + gpus + ".log"),
                    "TRAIN.DATASET", platform.dataset, "OUT_DIR", outDir, "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS),
                    "NUM_GPUS", String.valueOf(gpus));
            assertEquals(0, run.waitFor(10), () -> "the resume failed; see " + run.log);
            String output = run.output();
            assertTrue(output.contains("resuming on NUM_GPUS " + gpus + " instead of 2: the global batch (TRAIN.BATCH_SIZE 32) "
                    + "and the lr schedule stay, each replica now takes " + 32 / gpus + " images; batch statistics are per "
                    + "replica, so from epoch 2 on the weights differ from a run that kept 2 replicas"), output);
            for (List<TrainJobIT.Rank> epoch : TrainJobIT.ranks(output)) {
                assertEquals(gpus, epoch.size(), output);
                if (gpus == 4) { // Spark gives every rank its own GPU, and a host's ranks different ones
                    assertEquals(Set.of("10.77.0.11/gpu0", "10.77.0.11/gpu1", "10.77.0.12/gpu0", "10.77.0.12/gpu1"),
                            epoch.stream().map(r -> r.host() + "/gpu" + r.sparkGpu()).collect(java.util.stream.Collectors.toSet()));
                }
            }

            ModelState ema = SnapshotFiles.read(snapshots.resolve("start_e0001.bin"), platform.layout);
            assertArrayEquals(first.ema().floats(), ema.floats(), "the EMA goes on from the checkpoint's");
            for (int epoch = 1; epoch < EPOCHS; epoch++) {
                Checkpoint checkpoint = checkpoint(outDir, epoch);
                EmaReplay.assertClose(EmaReplay.withoutBnStatistics(EmaReplay.epoch(platform, ema, snapshots, epoch)),
                        EmaReplay.withoutBnStatistics(checkpoint.ema()), gpus + " GPUs, epoch " + (epoch + 1) + " EMA");
                ema = checkpoint.ema();
            }
            assertFalse(java.util.Arrays.equals(reference.last().model().floats(), platform.lastCheckpoint(outDir).model().floats()),
                    "per-replica batch statistics change the bits");

            assertEquals(List.of("1/3", "2/3", "3/3"), TrainJobIT.trainEpochs(platform, outDir));
            JsonNode change = TrainJobIT.metrics(platform, outDir).stream()
                    .filter(m -> m.path("_type").asText().equals("num_gpus_change")).findFirst().orElseThrow();
            assertEquals("2/3", change.path("epoch").asText());
            assertEquals(2, change.path("num_gpus_before").asInt());
            assertEquals(gpus, change.path("num_gpus").asInt());
            JsonNode meta = platform.store(outDir).metaJson(
                    new org.apache.hadoop.fs.Path(outDir, "checkpoints/" + Checkpoint.directoryName(EPOCHS - 1)));
            assertEquals(2, meta.path("num_gpus_changes").get(0).path("from_epoch").asInt(), meta.toString());
            assertEquals(gpus, meta.path("num_gpus_changes").get(0).path("num_gpus").asInt(), meta.toString());
        }
    }

    private Checkpoint checkpoint(String outDir, int epoch) throws Exception {
        return platform.store(outDir).load(
                new org.apache.hadoop.fs.Path(outDir, "checkpoints/" + Checkpoint.directoryName(epoch)), platform.layout);
    }

    /** OUT_DIR as the reference run left it after its first epoch: config, metrics, first checkpoint. */
    private void copyFirstEpoch(String from, String to) throws Exception {
        org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(to);
        platform.fs.delete(target, true);
        platform.fs.mkdirs(new org.apache.hadoop.fs.Path(target, "checkpoints"));
        for (String entry : List.of("config.yaml", "metrics.jsonl", "checkpoints/" + Checkpoint.directoryName(0))) {
            FileUtil.copy(platform.fs, new org.apache.hadoop.fs.Path(from, entry), platform.fs,
                    new org.apache.hadoop.fs.Path(target, entry), false, platform.fs.getConf());
        }
    }
}
