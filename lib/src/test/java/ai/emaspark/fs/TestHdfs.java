package ai.emaspark.fs;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** A MiniDFSCluster for a test class, closing small files at once as the platform's embedded HDFS does. */
public final class TestHdfs {
    private TestHdfs() {}

    /** One NameNode and one DataNode under the test tmp folder {@code name}. */
    public static MiniDFSCluster start(String name) throws Exception {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, System.getProperty("java.io.tmpdir") + "/" + name);
        // Close small files without waiting for block reports, and retry a close after 10 ms, not 400 ms.
        conf.setInt("dfs.namenode.file.close.num-committed-allowed", 1);
        conf.setLong("dfs.blockreport.incremental.intervalMsec", 0);
        conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 10);
        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).format(true).build();
        cluster.waitActive();
        return cluster;
    }
}
