package ai.emaspark.jobs;

import static ai.emaspark.jobs.ItPlatform.EPOCHS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.jobs.local.EmbeddedHdfs;
import ai.emaspark.jobs.local.EmbeddedYarn;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The cluster manager most Spark-on-HDFS users have: spark-submit --master yarn (client mode) against
 * a MiniYARNCluster and the shared embedded HDFS. The job trains, its driver is killed, the same
 * command resumes, and the run ends with the model and EMA of the fault-free standalone run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(ItPlatform.Resolver.class)
class YarnJobIT {
    private ItPlatform platform;
    private EmbeddedYarn yarn;

    @BeforeAll
    void startYarn(ItPlatform platform) throws Exception {
        this.platform = platform;
        yarn = EmbeddedYarn.start(platform.work.resolve("yarn"), platform.uri, EmbeddedHdfs.clientSettings(platform.host), 8192);
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
        // Containers get only the environment Spark gives them: where the build unpacked libtorch.
        String engineCache = System.getenv().getOrDefault("ENGINE_CACHE_DIR", System.getProperty("user.home") + "/.djl.ai");
        return new SparkSubmitRun.Target(List.of("--master", "yarn", "--deploy-mode", "client",
                "--conf", "spark.yarn.jars=" + jars, // the Spark runtime is on every node already: nothing to upload
                "--conf", "spark.driver.host=" + platform.host,
                "--conf", "spark.executor.memory=1g",
                "--conf", "spark.executor.cores=1",
                "--conf", "spark.yarn.am.memory=512m",
                "--conf", "spark.yarn.maxAppAttempts=1",
                "--conf", "spark.ui.enabled=false",
                "--conf", "spark.authenticate=true",
                "--conf", "spark.network.crypto.enabled=true",
                "--conf", "spark.executorEnv.JAVA_HOME=" + javaHome,
                "--conf", "spark.yarn.appMasterEnv.JAVA_HOME=" + javaHome,
                "--conf", "spark.executorEnv.ENGINE_CACHE_DIR=" + engineCache,
                "--conf", "spark.executor.extraJavaOptions=-Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 "
                        + "-Dai.djl.pytorch.num_interop_threads=1 -Dlog4j2.configurationFile=" + SparkSubmitRun.ROOT.resolve("conf/log4j2.properties"),
                "--conf", "spark.hadoop.dfs.client.use.datanode.hostname=" + !platform.host.equals("localhost")),
                Map.of("HADOOP_CONF_DIR", yarn.confDir().toString()));
    }

    @Test
    void trainsOnYarnAndTheSameCommandResumesToTheFaultFreeResult() throws Exception {
        String outDir = platform.uri + "/runs/yarn";
        String[] command = {"TRAIN.DATASET", platform.dataset, "OUT_DIR", outDir, "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS)};
        CheckpointStore store = platform.store(outDir);
        org.apache.hadoop.fs.Path first = new org.apache.hadoop.fs.Path(store.directory(), Checkpoint.directoryName(0));

        SparkSubmitRun doomed = SparkSubmitRun.startTrain(yarn(), platform.work.resolve("logs/yarn-killed.log"), command);
        long deadline = System.currentTimeMillis() + 8 * 60_000;
        while (!platform.fs.exists(first)) {
            assertTrue(doomed.process.isAlive(), "the YARN run ended before its first checkpoint; see " + doomed.log);
            assertTrue(System.currentTimeMillis() < deadline, "no checkpoint after 8 minutes; see " + doomed.log);
            Thread.sleep(200);
        }
        Thread.sleep(2000); // into the second epoch
        doomed.kill();
        int before = store.committed().size();
        assertTrue(before < EPOCHS, "killed before the end");

        SparkSubmitRun resumed = SparkSubmitRun.startTrain(yarn(), platform.work.resolve("logs/yarn-resumed.log"), command);
        assertEquals(0, resumed.waitFor(10), () -> "the resumed YARN run failed; see " + resumed.log);
        String output = resumed.output();
        assertTrue(output.contains("resuming from " + outDir + "/checkpoints/" + Checkpoint.directoryName(before - 1)), output);
        assertTrue(output.contains("asking for 2 executors (spark.executor.instances)"), output);
        assertTrue(output.contains("authenticated by a secret derived from Spark's authentication secret (spark.authenticate); "
                + "gradient blocks and EMA snapshots encrypted (AES-256-GCM)"), output);
        assertEquals(EPOCHS, store.committed().size());
        Checkpoint end = platform.lastCheckpoint(outDir);
        Checkpoint reference = platform.reference().last();
        assertArrayEquals(reference.model().floats(), end.model().floats(), "YARN vs standalone model");
        assertArrayEquals(reference.ema().floats(), end.ema().floats(), "YARN vs standalone EMA");
    }
}
