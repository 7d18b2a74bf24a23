package ai.emaspark.jobs;

import static ai.emaspark.jobs.ItPlatform.EPOCHS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.jobs.local.EmbeddedHdfs;
import ai.emaspark.jobs.local.EmbeddedYarn;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The cluster manager most Spark-on-HDFS users have, run as conf/spark-yarn-gpu.conf ships it:
 * spark-submit --master yarn --deploy-mode cluster (the driver in the ApplicationMaster's container,
 * the config file shipped with --files) against a MiniYARNCluster of two NodeManagers, one executor
 * on each, and the shared embedded HDFS. Containers get only what Spark gives them: no DJL cache, no
 * log4j file, no offline flag. The job trains, its driver is killed, the same command resumes, and
 * the run ends with the model and EMA of the fault-free standalone run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(ItPlatform.Resolver.class)
class YarnJobIT {
    /** Per NodeManager: the ApplicationMaster (1 GB driver) and one executor fit, two executors do not. */
    private static final int NODE_MEMORY_MB = 3584;
    private static final Pattern APPLICATION = Pattern.compile("application_\\d+_\\d+");

    private ItPlatform platform;
    private EmbeddedYarn yarn;

    @BeforeAll
    void startYarn(ItPlatform platform) throws Exception {
        this.platform = platform;
        yarn = EmbeddedYarn.start(platform.work.resolve("yarn"), platform.uri, EmbeddedHdfs.clientSettings(platform.host),
                NODE_MEMORY_MB, 2);
    }

    @AfterAll
    void stopYarn() {
        if (yarn != null) {
            yarn.close();
        }
    }

    /**
     * What a user's spark-defaults.conf would hold for this YARN cluster, a shared one: Spark authenticates
     * and encrypts its traffic (YARN hands each application its own secret), so the job's own sockets
     * derive their key from that secret and encrypt gradients and EMA snapshots.
     */
    private SparkSubmitRun.Target yarn() {
        String javaHome = System.getProperty("java.home");
        String jars = "local:" + SparkSubmitRun.JOBS.resolve("target/spark-home/jars") + "/*";
        return new SparkSubmitRun.Target(List.of("--master", "yarn", "--deploy-mode", "cluster",
                "--files", SparkSubmitRun.ROOT.resolve("conf/quickstart.yaml").toString(),
                "--conf", "spark.yarn.jars=" + jars, // the Spark runtime is on every node already: nothing to upload
                "--conf", "spark.driver.memory=1g",
                "--conf", "spark.executor.memory=1600m", // with its overhead, 2 GB: one executor per NodeManager
                "--conf", "spark.executor.cores=1",
                "--conf", "spark.yarn.maxAppAttempts=1",
                "--conf", "spark.ui.enabled=false",
                "--conf", "spark.authenticate=true",
                "--conf", "spark.network.crypto.enabled=true",
                "--conf", "spark.executorEnv.JAVA_HOME=" + javaHome,
                "--conf", "spark.yarn.appMasterEnv.JAVA_HOME=" + javaHome,
                "--conf", "spark.executor.extraJavaOptions=-Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1",
                "--conf", "spark.hadoop.dfs.client.use.datanode.hostname=" + !platform.host.equals("localhost")),
                Map.of("HADOOP_CONF_DIR", yarn.confDir().toString()));
    }

    @Test
    void trainsInClusterModeOnTwoNodesAndTheSameCommandResumesToTheFaultFreeResult() throws Exception {
        String outDir = platform.uri + "/runs/yarn";
        String[] command = {"TRAIN.DATASET", platform.dataset, "OUT_DIR", outDir, "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS)};
        CheckpointStore store = platform.store(outDir);
        org.apache.hadoop.fs.Path first = new org.apache.hadoop.fs.Path(store.directory(), Checkpoint.directoryName(0));

        SparkSubmitRun doomed = SparkSubmitRun.startTrainWithCfg(yarn(), platform.work.resolve("logs/yarn-killed.log"), "quickstart.yaml",
                command);
        long deadline = System.currentTimeMillis() + 8 * 60_000;
        while (!platform.fs.exists(first)) {
            assertTrue(doomed.process.isAlive(), "the YARN run ended before its first checkpoint; see " + doomed.log);
            assertTrue(System.currentTimeMillis() < deadline, "no checkpoint after 8 minutes; see " + doomed.log);
            Thread.sleep(200);
        }
        Thread.sleep(2000); // into the second epoch
        killDrivers(); // the ApplicationMaster's JVM, as a lost node would
        assertNotEquals(0, doomed.waitFor(3), "spark-submit reports the failed application");
        int before = store.committed().size();
        assertTrue(before < EPOCHS, "killed before the end");

        SparkSubmitRun resumed = SparkSubmitRun.startTrainWithCfg(yarn(), platform.work.resolve("logs/yarn-resumed.log"), "quickstart.yaml",
                command);
        assertEquals(0, resumed.waitFor(10), () -> "the resumed YARN run failed; see " + resumed.log);
        String application = lastApplication();
        String driver = Files.readString(containerLog(application, true), StandardCharsets.UTF_8);
        assertTrue(driver.contains("resuming from " + outDir + "/checkpoints/" + Checkpoint.directoryName(before - 1)), driver);
        assertTrue(driver.contains("asking for 2 executors (spark.executor.instances)"), driver);
        assertTrue(driver.contains("authenticated by a secret derived from Spark's authentication secret (spark.authenticate); "
                + "gradient blocks and EMA snapshots encrypted (AES-256-GCM)"), driver);
        assertTrue(driver.contains("DJL cache in the driver's working directory"), driver);
        List<List<TrainJobIT.Rank>> ranks = TrainJobIT.ranks(driver);
        assertEquals(EPOCHS - before, ranks.size(), driver);
        for (List<TrainJobIT.Rank> epoch : ranks) {
            assertEquals(2, epoch.stream().map(r -> r.host() + ":" + r.port()).distinct().count(), epoch.toString());
        }
        for (int node = 0; node < 2; node++) {
            Path executor = executorLog(application, node);
            assertTrue(Files.readString(executor, StandardCharsets.ISO_8859_1).contains("DJL cache in the executor's working directory"),
                    "a cold container extracts libtorch where it may write: " + executor);
        }

        assertEquals(EPOCHS, store.committed().size());
        Checkpoint end = platform.lastCheckpoint(outDir);
        Checkpoint reference = platform.reference().last();
        TrainJobIT.assertSameRun(reference, end, "the standalone run (YARN)");
    }

    /** Kills every ApplicationMaster JVM (in cluster mode the driver's). */
    private static void killDrivers() {
        List<ProcessHandle> drivers = ProcessHandle.allProcesses().filter(p -> p.info().commandLine()
                .map(c -> c.contains("org.apache.spark.deploy.yarn.ApplicationMaster")).orElse(false)).toList();
        assertFalse(drivers.isEmpty(), "no ApplicationMaster is running");
        drivers.forEach(ProcessHandle::destroyForcibly);
        drivers.forEach(p -> p.onExit().join());
    }

    /** The newest application the NodeManagers ran (ids grow with every submission). */
    private String lastApplication() throws Exception {
        String last = null;
        for (int node = 0; node < 2; node++) {
            try (Stream<Path> apps = Files.list(yarn.nodeLogs(node))) {
                for (String app : apps.map(p -> p.getFileName().toString()).filter(n -> APPLICATION.matcher(n).matches()).toList()) {
                    last = last == null || app.compareTo(last) > 0 ? app : last;
                }
            }
        }
        assertNotNull(last, "no application in the NodeManagers' logs");
        return last;
    }

    /** The stderr of the application's ApplicationMaster (the driver), whichever node ran it. */
    private Path containerLog(String application, boolean am) throws Exception {
        for (int node = 0; node < 2; node++) {
            for (Path container : containers(application, node)) {
                if (container.getFileName().toString().endsWith("_000001") == am) {
                    return container.resolve("stderr");
                }
            }
        }
        throw new AssertionError("no container log of " + application);
    }

    /** The stderr of an executor of the application on NodeManager {@code node}: each node must have run one. */
    private Path executorLog(String application, int node) throws Exception {
        return containers(application, node).stream().filter(c -> !c.getFileName().toString().endsWith("_000001"))
                .map(c -> c.resolve("stderr")).findFirst()
                .orElseThrow(() -> new AssertionError("NodeManager " + node + " ran no executor of " + application));
    }

    private List<Path> containers(String application, int node) throws Exception {
        Path dir = yarn.nodeLogs(node).resolve(application);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> list = Files.list(dir)) {
            return list.sorted().toList();
        }
    }
}
