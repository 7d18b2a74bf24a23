package ai.emaspark.jobs.local;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

/**
 * A YARN cluster for the local platform: a MiniYARNCluster (one ResourceManager, one or more
 * NodeManagers, each with its own local and log folders) in the calling JVM, with a HADOOP_CONF_DIR that spark-submit --master yarn reads (yarn-site.xml with
 * the ResourceManager's addresses, core-site.xml naming the embedded HDFS as the default file
 * system, from where Spark stages the application's files).
 */
public final class EmbeddedYarn implements AutoCloseable {
    private final MiniYARNCluster cluster;
    private final Path confDir;

    /** {@code EmbeddedYarn DIR HDFS_URI [NODE_MEMORY_MB [NODE_MANAGERS]]}: runs until killed; prints its HADOOP_CONF_DIR. */
    public static void main(String[] args) throws Exception {
        String fs = args[1];
        String host = java.net.URI.create(fs).getHost();
        EmbeddedYarn yarn = start(Path.of(args[0]).toAbsolutePath(), fs, EmbeddedHdfs.clientSettings(host),
                args.length > 2 ? Integer.parseInt(args[2]) : 8192, args.length > 3 ? Integer.parseInt(args[3]) : 1);
        Runtime.getRuntime().addShutdownHook(new Thread(yarn::close));
        System.out.println("embedded YARN ready: ResourceManager " + yarn.resourceManager() + "; HADOOP_CONF_DIR=" + yarn.confDir());
        Thread.currentThread().join();
    }

    private EmbeddedYarn(MiniYARNCluster cluster, Path confDir) {
        this.cluster = cluster;
        this.confDir = confDir;
    }

    /**
     * @param dir working folder (container logs, local dirs, the conf dir)
     * @param defaultFs the HDFS URI containers and the client share, e.g. hdfs://10.77.0.1:8020
     * @param hdfsClient client settings for that HDFS (see {@link EmbeddedHdfs#clientSettings})
     * @param nodeMemoryMb memory each NodeManager offers to containers
     * @param nodeManagers how many NodeManagers (nodes) the cluster has
     */
    public static EmbeddedYarn start(Path dir, String defaultFs, java.util.Map<String, String> hdfsClient, int nodeMemoryMb,
            int nodeManagers) throws Exception {
        Files.createDirectories(dir);
        System.setProperty("test.build.data", dir.toString()); // MiniYARNCluster's working folder
        YarnConfiguration conf = new YarnConfiguration();
        conf.setInt("yarn.minicluster.yarn.nodemanager.resource.memory-mb", nodeMemoryMb);
        conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 256);
        conf.setInt(YarnConfiguration.NM_VCORES, 8);
        conf.set("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", "100.0");
        // hadoop-client-minicluster has no capacity-scheduler.xml (Spark's YarnClusterSuite does the same).
        conf.set("yarn.scheduler.capacity.root.queues", "default");
        conf.setInt("yarn.scheduler.capacity.root.default.capacity", 100);
        conf.setFloat("yarn.scheduler.capacity.root.default.user-limit-factor", 1);
        conf.setInt("yarn.scheduler.capacity.root.default.maximum-capacity", 100);
        conf.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
        conf.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
        conf.set("yarn.scheduler.capacity.root.default.acl_administer_queue", "*");
        conf.setInt("yarn.scheduler.capacity.node-locality-delay", -1);
        conf.set("fs.defaultFS", defaultFs);
        hdfsClient.forEach(conf::set);
        MiniYARNCluster cluster = new MiniYARNCluster("emaspark", nodeManagers, 1, 1);
        cluster.init(conf);
        cluster.start();
        Configuration running = cluster.getConfig();
        long deadline = System.currentTimeMillis() + 60_000;
        while (running.get(YarnConfiguration.RM_ADDRESS, "").endsWith(":0")) {
            if (System.currentTimeMillis() > deadline) {
                cluster.stop();
                throw new IllegalStateException("the ResourceManager did not get a port within 60 s");
            }
            Thread.sleep(100);
        }
        Path confDir = dir.resolve("hadoop-conf");
        Files.createDirectories(confDir);
        try (OutputStream out = Files.newOutputStream(confDir.resolve("yarn-site.xml"))) {
            running.writeXml(out);
        }
        Configuration core = new Configuration(false);
        core.set("fs.defaultFS", defaultFs);
        hdfsClient.forEach(core::set);
        try (OutputStream out = Files.newOutputStream(confDir.resolve("core-site.xml"))) {
            core.writeXml(out);
        }
        return new EmbeddedYarn(cluster, confDir);
    }

    /** The folder to give spark-submit as HADOOP_CONF_DIR. */
    public Path confDir() {
        return confDir;
    }

    /** The folder under which NodeManager {@code i} keeps its containers' logs (one folder per application). */
    public Path nodeLogs(int i) {
        return Path.of(cluster.getNodeManager(i).getConfig().get(YarnConfiguration.NM_LOG_DIRS).split(",")[0]);
    }

    public String resourceManager() {
        return cluster.getConfig().get(YarnConfiguration.RM_ADDRESS);
    }

    @Override
    public void close() {
        cluster.stop();
    }
}
