package ai.emaspark.jobs.local;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * The embedded HDFS of the local platforms: a MiniDFSCluster (one NameNode, one DataNode, WebHDFS on)
 * in its own process on fixed ports. Writes its URI to {@code <dir>/uri} when ready and runs until
 * killed. Started and stopped by jobs/bin/hdfs-start and jobs/bin/hdfs-stop.
 * Usage: {@code EmbeddedHdfs DIR [NAMENODE_PORT] [HTTP_PORT] [HOST]}.
 *
 * <p>With a HOST other than localhost (the multi-host platform's bridge address), NameNode and DataNode
 * listen on every interface and the DataNode is advertised by that host name, so clients in other
 * network namespaces reach both; those clients need {@code dfs.client.use.datanode.hostname=true}
 * (MiniDFSCluster registers its DataNode as 127.0.0.1, which they cannot reach).
 */
public final class EmbeddedHdfs {
    public static final String LOCALHOST = "localhost";

    private EmbeddedHdfs() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]).toAbsolutePath();
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 8020;
        int httpPort = args.length > 2 ? Integer.parseInt(args[2]) : 9870;
        String host = args.length > 3 ? args[3] : LOCALHOST;
        MiniDFSCluster cluster = start(dir, host, port, httpPort);
        Runtime.getRuntime().addShutdownHook(new Thread(cluster::shutdown));
        String uri = uri(host, cluster);
        Files.writeString(dir.resolve("uri"), uri + "\n", StandardCharsets.UTF_8);
        System.out.println("embedded HDFS ready at " + uri + " (WebHDFS http://" + host + ":" + httpPort + ")");
        Thread.currentThread().join();
    }

    public static MiniDFSCluster start(Path dir, int port, int httpPort) throws Exception {
        return start(dir, LOCALHOST, port, httpPort);
    }

    public static MiniDFSCluster start(Path dir, String host, int port, int httpPort) throws Exception {
        Files.createDirectories(dir);
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(dir.toFile(), "data").getAbsolutePath());
        conf.setBoolean("dfs.webhdfs.enabled", true);
        conf.setBoolean("dfs.permissions.enabled", false);
        // Close files without waiting for the DataNode's block report: small-file writes are
        // otherwise throttled by the client's completeFile retries.
        conf.setInt("dfs.namenode.file.close.num-committed-allowed", 1);
        conf.setLong("dfs.blockreport.incremental.intervalMsec", 0);
        boolean remote = !LOCALHOST.equals(host);
        if (remote) {
            for (String key : new String[] {"dfs.namenode.rpc-bind-host", "dfs.namenode.servicerpc-bind-host",
                    "dfs.namenode.http-bind-host"}) {
                conf.set(key, "0.0.0.0");
            }
            conf.set("dfs.datanode.address", "0.0.0.0:0");
            conf.set("dfs.datanode.http.address", "0.0.0.0:0");
            conf.set("dfs.datanode.ipc.address", "0.0.0.0:0");
            conf.set("dfs.datanode.hostname", host);
        }
        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf)
                .nameNodePort(port)
                .nameNodeHttpPort(httpPort)
                .numDataNodes(1)
                .checkDataNodeAddrConfig(remote)
                .checkDataNodeHostConfig(remote)
                .format(true)
                .build();
        cluster.waitActive();
        return cluster;
    }

    /** The URI clients use: the NameNode's port on {@code host}. */
    public static String uri(String host, MiniDFSCluster cluster) {
        return "hdfs://" + host + ":" + cluster.getNameNodePort();
    }

    /** Client settings for the embedded HDFS on {@code host} (as spark.hadoop.* without the prefix). */
    public static java.util.Map<String, String> clientSettings(String host) {
        return java.util.Map.of(
                "dfs.client.use.datanode.hostname", String.valueOf(!LOCALHOST.equals(host)),
                // The embedded HDFS acknowledges closed files late: retry a close after 10 ms, not 400 ms.
                "dfs.client.block.write.locateFollowingBlock.initial.delay.ms", "10");
    }

    /** A client Configuration with {@link #clientSettings}. */
    public static Configuration clientConf(String host) {
        Configuration conf = new Configuration();
        clientSettings(host).forEach(conf::set);
        return conf;
    }
}
