package ai.emaspark.jobs.local;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * The embedded HDFS of the local platform: a MiniDFSCluster (one NameNode, one DataNode, WebHDFS on)
 * in its own process on fixed localhost ports. Writes its URI to {@code <dir>/uri} when ready and
 * runs until killed. Started and stopped by jobs/bin/hdfs-start and jobs/bin/hdfs-stop.
 * Usage: {@code EmbeddedHdfs DIR [NAMENODE_PORT] [HTTP_PORT]}.
 */
public final class EmbeddedHdfs {
    private EmbeddedHdfs() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]).toAbsolutePath();
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 8020;
        int httpPort = args.length > 2 ? Integer.parseInt(args[2]) : 9870;
        MiniDFSCluster cluster = start(dir, port, httpPort);
        Runtime.getRuntime().addShutdownHook(new Thread(cluster::shutdown));
        String uri = "hdfs://localhost:" + cluster.getNameNodePort();
        Files.writeString(dir.resolve("uri"), uri + "\n", StandardCharsets.UTF_8);
        System.out.println("embedded HDFS ready at " + uri + " (WebHDFS http://localhost:" + httpPort + ")");
        Thread.currentThread().join();
    }

    public static MiniDFSCluster start(Path dir, int port, int httpPort) throws Exception {
        Files.createDirectories(dir);
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(dir.toFile(), "data").getAbsolutePath());
        conf.setBoolean("dfs.webhdfs.enabled", true);
        conf.setBoolean("dfs.permissions.enabled", false);
        // Close files without waiting for the DataNode's block report: small-file writes are
        // otherwise throttled by the client's completeFile retries.
        conf.setInt("dfs.namenode.file.close.num-committed-allowed", 1);
        conf.setLong("dfs.blockreport.incremental.intervalMsec", 0);
        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf)
                .nameNodePort(port)
                .nameNodeHttpPort(httpPort)
                .numDataNodes(1)
                .format(true)
                .build();
        cluster.waitActive();
        return cluster;
    }
}
