package ai.emaspark.spark;

import java.nio.file.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a JVM on a cluster node needs before it first touches DJL or JavaCPP, set once where the
 * user did not set it: DJL's cache (libtorch is extracted there, 452 MB) and JavaCPP's go to the
 * working directory Spark gave the executor (or the driver, in cluster deploy mode), not to a home
 * directory that a YARN container or a Kubernetes pod may lack, nor to a /tmp that other users
 * share; and DJL stays offline, since libtorch comes with the job jar.
 */
public final class NodeSetup {
    private static final Logger LOG = LoggerFactory.getLogger(NodeSetup.class);
    /** Spark's executor id of the driver (SparkContext.DRIVER_IDENTIFIER): local-mode tasks run there. */
    private static final String DRIVER = "driver";
    private static boolean prepared;

    private NodeSetup() {}

    /**
     * In a task: on an executor of a cluster master, the first time; a no-op after. Executors of a
     * local master (local-cluster) share the driver's machine and its caches.
     */
    public static void onExecutor() {
        SparkEnv env = SparkEnv.get();
        if (env != null && !DRIVER.equals(env.executorId()) && !SharedPaths.isLocal(env.conf().get("spark.master", "local"))) {
            prepare("executor");
        }
    }

    /** On the driver, before it loads the engine: only in cluster deploy mode, where it runs on a node too. */
    public static void onDriver(SparkConf conf) {
        if ("cluster".equals(conf.get("spark.submit.deployMode", "client"))) {
            prepare("driver");
        }
    }

    private static synchronized void prepare(String who) {
        if (prepared) {
            return;
        }
        prepared = true;
        Path workDir = Path.of("").toAbsolutePath();
        if (unset("DJL_CACHE_DIR") && unset("ENGINE_CACHE_DIR")) {
            System.setProperty("DJL_CACHE_DIR", workDir.resolve("djl-cache").toString());
            LOG.info("DJL cache in the {}'s working directory, {}: libtorch is extracted there (452 MB); set "
                    + "spark.executorEnv.ENGINE_CACHE_DIR to a node-local folder to extract it once per node", who,
                    System.getProperty("DJL_CACHE_DIR"));
        }
        if (unset("org.bytedeco.javacpp.cachedir")) {
            System.setProperty("org.bytedeco.javacpp.cachedir", workDir.resolve("javacpp-cache").toString());
        }
        if (unset("ai.djl.offline")) {
            System.setProperty("ai.djl.offline", "true"); // libtorch is in the job jar: nothing to download
        }
    }

    /** Neither a system property nor an environment variable (DJL reads both) says where. */
    private static boolean unset(String name) {
        String property = System.getProperty(name);
        return (property == null || property.isBlank()) && System.getenv(name) == null;
    }
}
