package ai.emaspark.jobs;

import ai.emaspark.data.SampleImageNet;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes the sample ILSVRC2012-layout dataset to any Hadoop URI:
 * {@code GenerateSample --out hdfs://localhost:8020/data/sample [--classes 10] [--train-per-class 64]
 * [--val-per-class 12] [--seed 0] [--bad-files] [--tars] [--overwrite]}; with --tars, only a training split
 * of per-class tars (train/<wnid>.tar), the quick way to a large sample. An existing --out is refused
 * unless --overwrite asks for it to be replaced.
 */
public final class GenerateSample {
    private GenerateSample() {}

    public static void main(String[] args) throws Exception {
        String out = null;
        int classes = 10;
        int trainPerClass = 64;
        int valPerClass = 12;
        long seed = 0;
        boolean badFiles = false;
        boolean tars = false;
        boolean overwrite = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = args[++i];
                case "--classes" -> classes = Integer.parseInt(args[++i]);
                case "--train-per-class" -> trainPerClass = Integer.parseInt(args[++i]);
                case "--val-per-class" -> valPerClass = Integer.parseInt(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--bad-files" -> badFiles = true;
                case "--tars" -> tars = true;
                case "--overwrite" -> overwrite = true;
                default -> {
                    System.err.println("emaspark: error: unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (out == null) {
            System.err.println("emaspark: error: --out is required, e.g. --out hdfs://localhost:8020/data/sample");
            System.exit(2);
        }
        Path root = new Path(out);
        Configuration conf = new Configuration();
        // Many small files: retry the close of each one quickly rather than after HDFS's default 400 ms.
        conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 10);
        FileSystem fs = FileSystem.get(URI.create(out), conf);
        if (fs.exists(root)) {
            if (!overwrite) {
                System.err.println("emaspark: error: " + out + " already exists: choose another --out, or add --overwrite to replace it");
                System.exit(2);
            }
            fs.delete(root, true); // asked for
        }
        long start = System.nanoTime();
        if (tars) {
            long images = new SampleImageNet(fs, root, seed).writeTars(classes, trainPerClass);
            System.out.printf("wrote %d images in %d class tars to %s in %.1f s%n", images, classes, out, (System.nanoTime() - start) / 1e9);
            return;
        }
        int written = new SampleImageNet(fs, root, seed).write(classes, trainPerClass, valPerClass, badFiles);
        System.out.printf("wrote %d image files (%d classes, %d train and %d val per class%s) to %s in %.1f s%n", written,
                classes, trainPerClass, valPerClass, badFiles ? ", plus planted bad files" : "", out,
                (System.nanoTime() - start) / 1e9);
    }
}
