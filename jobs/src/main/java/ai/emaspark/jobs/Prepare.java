package ai.emaspark.jobs;

import ai.emaspark.data.DatasetException;
import ai.emaspark.data.Manifest;
import ai.emaspark.spark.PrepareDriver;
import java.io.IOException;
import org.apache.hadoop.fs.Path;

/**
 * spark-submit entry point: ImageNet as found on HDFS → Parquet shards + manifest.json.
 * {@code Prepare --src hdfs://nn/data/imagenet --out hdfs://nn/data/imagenet-shards [--shard-mb 128]
 * [--max-pixels N] [--overwrite]}. An existing --out is refused unless --overwrite asks for it to be
 * replaced (it is, only once the new dataset is complete).
 */
public final class Prepare {
    private Prepare() {}

    public static void main(String[] args) throws IOException {
        String src = null;
        String out = null;
        long shardMb = 128;
        boolean overwrite = false;
        long maxPixels = ai.emaspark.data.ImageLimits.DEFAULT_MAX_PIXELS;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--src" -> src = value(args, ++i, "--src");
                case "--out" -> out = value(args, ++i, "--out");
                case "--shard-mb" -> shardMb = Long.parseLong(value(args, ++i, "--shard-mb"));
                case "--max-pixels" -> maxPixels = Long.parseLong(value(args, ++i, "--max-pixels"));
                case "--overwrite" -> overwrite = true;
                default -> fail("unknown option " + args[i] + " (expected --src, --out, --shard-mb, --max-pixels, --overwrite)");
            }
        }
        if (src == null || out == null) {
            fail("--src and --out are required, e.g. --src hdfs://nn:8020/data/imagenet --out hdfs://nn:8020/data/imagenet-shards");
        }
        PrepareDriver driver;
        try {
            driver = PrepareDriver.plan(new Path(src), new Path(out), shardMb << 20, overwrite, maxPixels);
        } catch (DatasetException e) {
            fail(e.getMessage());
            return;
        }
        Manifest manifest = driver.run();
        manifest.splits().forEach((split, s) -> System.out.printf("%s: %d images, %d shards, %d MB, %d skipped%n", split,
                s.images(), s.shards().size(), s.bytes() >> 20, s.skipped().size()));
    }

    private static String value(String[] args, int index, String option) {
        if (index >= args.length) {
            fail(option + " needs a value");
        }
        return args[index];
    }

    private static void fail(String message) {
        System.err.println("emaspark: error: " + message);
        System.exit(2);
    }
}
