package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** A path on the driver's disk is refused when executors run on other machines, unless every node mounts it. */
class SharedPathsTest {
    private static final Configuration LOCAL_DEFAULT_FS = new Configuration(false);

    private static SparkConf master(String master) {
        return new SparkConf(false).set("spark.master", master);
    }

    @Test
    void aLocalPathWithAClusterMasterIsRefusedInOneLineNamingTheFix() throws Exception {
        for (String master : new String[] {"spark://10.77.0.1:7077", "yarn", "k8s://https://kubernetes.default.svc"}) {
            for (String path : new String[] {"/data/imagenet", "file:/data/imagenet", "file:///data/imagenet"}) {
                assertEquals("TRAIN.DATASET file:/data/imagenet is on one machine's disk, but the executors of " + master
                        + " run on others: give a path every node reads (hdfs://, s3a://, abfs://, gs://), or set "
                        + "spark.emaspark.paths.shared true if every node mounts /data/imagenet (e.g. over NFS)",
                        SharedPaths.problem(master(master), LOCAL_DEFAULT_FS, "TRAIN.DATASET", new Path(path)));
            }
        }
    }

    @Test
    void sharedFileSystemsLocalMastersAndDeclaredMountsAreFine() throws Exception {
        assertNull(SharedPaths.problem(master("yarn"), LOCAL_DEFAULT_FS, "OUT_DIR", new Path("hdfs://nn:8020/runs/a")));
        Configuration hdfsDefault = new Configuration(false);
        hdfsDefault.set("fs.defaultFS", "hdfs://nn:8020");
        assertNull(SharedPaths.problem(master("yarn"), hdfsDefault, "OUT_DIR", new Path("/runs/a")), "scheme-less on HDFS");
        for (String master : new String[] {"local", "local[4]", "local[*]", "local-cluster[2,1,2048]"}) {
            assertNull(SharedPaths.problem(master(master), LOCAL_DEFAULT_FS, "OUT_DIR", new Path("/tmp/runs/a")), master);
        }
        assertNull(SharedPaths.problem(master("yarn").set(SharedPaths.SHARED, "true"), LOCAL_DEFAULT_FS, "--input",
                new Path("/mnt/nfs/images")));
    }
}
