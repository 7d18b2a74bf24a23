package ai.emaspark.jobs;

import ai.emaspark.infer.CheckpointEntry;
import ai.emaspark.infer.InferenceException;
import ai.emaspark.infer.PredictDriver;
import ai.emaspark.infer.PredictSettings;
import java.io.IOException;
import java.net.ConnectException;
import org.apache.hadoop.fs.Path;

/**
 * spark-submit entry point: batch inference with a checkpoint entry, Parquet out.
 * {@code Predict --checkpoint URI [--entry ema|model|best|p<sigma_rel>] --input DIR --out DIR [--top-k 5] [--batch-size N]
 * [--partitions N] [--dataset URI] [--overwrite]}. Bad input ends here with one line on stderr and exit code 2, before any
 * Spark stage starts.
 */
public final class Predict {
    private static final String USAGE = "usage: Predict --checkpoint OUT_DIR|CHECKPOINT_DIR [--entry ema|model|best|p<sigma_rel>] "
            + "--input PREPARED_SPLIT|IMAGE_FOLDER --out PARQUET_DIR [--top-k 5] [--batch-size N] [--partitions N] "
            + "[--dataset PREPARED_DATASET] [--overwrite]";

    private Predict() {}

    public static void main(String[] args) {
        PredictDriver driver;
        try {
            driver = PredictDriver.plan(parse(args));
        } catch (InferenceException e) {
            fail(e.getMessage());
            return;
        } catch (ConnectException e) {
            fail("cannot reach the file system of --checkpoint, --input or --out: " + e.getMessage());
            return;
        } catch (IOException e) {
            fail("cannot read the checkpoint, the dataset or the input: " + e);
            return;
        }
        try {
            driver.run();
        } catch (IOException e) {
            throw new IllegalStateException("scoring failed: " + e.getMessage(), e);
        }
    }

    static PredictSettings parse(String[] args) {
        String checkpoint = null;
        String input = null;
        String out = null;
        String entry = "ema";
        String dataset = "";
        int topK = 5;
        int batchSize = 0;
        int partitions = 0;
        boolean overwrite = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--checkpoint" -> checkpoint = value(args, ++i, "--checkpoint");
                case "--entry" -> entry = value(args, ++i, "--entry");
                case "--input" -> input = value(args, ++i, "--input");
                case "--out" -> out = value(args, ++i, "--out");
                case "--top-k" -> topK = positive(args, ++i, "--top-k", 1);
                case "--batch-size" -> batchSize = positive(args, ++i, "--batch-size", 1);
                case "--partitions" -> partitions = positive(args, ++i, "--partitions", 1);
                case "--dataset" -> dataset = value(args, ++i, "--dataset");
                case "--overwrite" -> overwrite = true;
                default -> throw new InferenceException("unknown option " + args[i] + "; " + USAGE);
            }
        }
        if (checkpoint == null || input == null || out == null) {
            throw new InferenceException("--checkpoint, --input and --out are required, e.g. --checkpoint hdfs://nn:8020/runs/r50 "
                    + "--input hdfs://nn:8020/data/imagenet-shards/val --out hdfs://nn:8020/predictions/r50-val");
        }
        return new PredictSettings(checkpoint, CheckpointEntry.parse(entry), new Path(input), new Path(out), topK, batchSize, dataset,
                overwrite, partitions);
    }

    private static String value(String[] args, int index, String option) {
        if (index >= args.length) {
            throw new InferenceException(option + " needs a value");
        }
        return args[index];
    }

    private static int positive(String[] args, int index, String option, int least) {
        String text = value(args, index, option);
        try {
            int number = Integer.parseInt(text);
            if (number >= least) {
                return number;
            }
        } catch (NumberFormatException e) {
            // the message below says what is wanted
        }
        throw new InferenceException(option + " needs a whole number of at least " + least + ", not " + text);
    }

    private static void fail(String message) {
        System.err.println("emaspark: error: " + message);
        System.exit(2);
    }
}
