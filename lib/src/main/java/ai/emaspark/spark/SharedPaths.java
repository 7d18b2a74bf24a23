package ai.emaspark.spark;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;

/**
 * With a cluster master, executors on other machines read the dataset and inference's inputs and
 * checkpoints, and in cluster deploy mode the driver itself runs on one of them: a {@code file:} path
 * (or a scheme-less one under a local fs.defaultFS) names one machine's disk, and would fail there
 * much later or read another machine's files. Such paths are refused before Spark starts unless the
 * user says every node mounts them ({@value #SHARED}, e.g. an NFS path).
 */
public final class SharedPaths {
    public static final String SHARED = "spark.emaspark.paths.shared";

    private SharedPaths() {}

    /**
     * Why {@code path} cannot be used by this application, in one line, or null when it can.
     *
     * @param what how the user gave it, e.g. "TRAIN.DATASET" or "--input"
     */
    public static String problem(SparkConf conf, Configuration hadoop, String what, Path path) throws IOException {
        String master = conf.get("spark.master", "local[*]");
        if (isLocal(master) || conf.getBoolean(SHARED, false)) {
            return null;
        }
        String scheme = path.toUri().getScheme() != null ? path.toUri().getScheme()
                : FileSystem.getDefaultUri(hadoop).getScheme();
        if (!"file".equals(scheme)) {
            return null;
        }
        Path qualified = path.getFileSystem(hadoop).makeQualified(path);
        return what + " " + qualified + " is on one machine's disk, but the executors of " + master + " run on others: give a "
                + "path every node reads (hdfs://, s3a://, abfs://, gs://), or set " + SHARED + " true if every node mounts "
                + qualified.toUri().getPath() + " (e.g. over NFS)";
    }

    /** local, local[N], local[*], local-cluster[...]: every executor shares the driver's disk. */
    static boolean isLocal(String master) {
        return master.equals("local") || master.startsWith("local[") || master.startsWith("local-cluster[");
    }
}
