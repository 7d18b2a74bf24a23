package ai.emaspark.infer;

import static org.apache.spark.sql.functions.array_contains;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.slice;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import ai.emaspark.data.Manifest;
import ai.emaspark.eval.EvalCounts;
import ai.emaspark.fs.Replace;
import ai.emaspark.spark.HadoopSettings;
import ai.emaspark.spark.NodeSetup;
import ai.emaspark.spark.SharedPaths;
import java.io.IOException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Predict job: images in (a prepared split, or a folder of image files), Parquet out with one row per
 * image and its prediction ({@link ImageClassifier}); the images scored and skipped, images/s per executor,
 * and for a labelled split its top-1/top-5 error next to the checkpoint's own evaluation of the entry.
 * Everything that can be checked is checked by {@link #plan} before Spark starts.
 */
public final class PredictDriver {
    private static final Logger LOG = LoggerFactory.getLogger(PredictDriver.class);

    /** A prepared split's columns kept in the output (the image bytes are not), or a folder's. */
    private enum Input {
        PREPARED_SPLIT("image", "key", "label", "wnid"), IMAGE_FOLDER("content", "path");

        final String imageColumn;
        final String[] keptColumns;

        Input(String imageColumn, String... keptColumns) {
            this.imageColumn = imageColumn;
            this.keptColumns = keptColumns;
        }
    }

    private final PredictSettings settings;
    private final Input input;
    private final ClassifierModel model;

    private PredictDriver(PredictSettings settings, Input input, ClassifierModel model) {
        this.settings = settings;
        this.input = input;
        this.model = model;
    }

    /** Checks the input, the output and the checkpoint (meta.json, config, classes) before any Spark stage. */
    public static PredictDriver plan(PredictSettings settings) throws IOException {
        SparkConf spark = new SparkConf();
        NodeSetup.onDriver(spark);
        Configuration conf = HadoopSettings.configuration(HadoopSettings.of(spark));
        for (Map.Entry<String, Path> given : Map.of("--input", settings.input(), "--checkpoint", new Path(settings.checkpoint()),
                "--out", settings.out()).entrySet()) {
            String problem = SharedPaths.problem(spark, conf, given.getKey(), given.getValue());
            if (problem != null) {
                throw new InferenceException(problem);
            }
        }
        FileSystem outFs = settings.out().getFileSystem(conf);
        if (!settings.overwrite() && outFs.exists(settings.out())) {
            throw new InferenceException("output " + settings.out() + " already exists: choose another --out, or add --overwrite "
                    + "to replace it once the new one is complete");
        }
        Input input = kind(settings.input().getFileSystem(conf), settings.input());
        ClassifierModel model = classifier(settings).resolve(conf);
        LOG.info("scoring {} ({}) with the {}", settings.input(), input == Input.PREPARED_SPLIT ? "a prepared split" : "image files",
                model.describe());
        return new PredictDriver(settings, input, model);
    }

    private static Input kind(FileSystem fs, Path input) throws IOException {
        if (!fs.exists(input) || !fs.getFileStatus(input).isDirectory()) {
            throw new InferenceException("input " + input + " is not a folder: give a prepared split (DATASET/val) or a folder of "
                    + "image files");
        }
        if (fs.exists(new Path(input, Manifest.FILE))) {
            throw new InferenceException("input " + input + " is a prepared dataset: give one of its splits, e.g. " + input + "/val");
        }
        if (PreparedSplit.is(fs, input)) {
            return Input.PREPARED_SPLIT;
        }
        if (Arrays.stream(fs.listStatus(input)).anyMatch(f -> f.getPath().getName().endsWith(".parquet"))) {
            throw new InferenceException("input " + input + " holds Parquet files but is not a split of a prepared dataset (no "
                    + Manifest.FILE + " beside it listing " + input.getName() + "): give DATASET/val, or a folder of image files");
        }
        return Input.IMAGE_FOLDER;
    }

    private static ImageClassifier classifier(PredictSettings settings) {
        return new ImageClassifier().setCheckpoint(settings.checkpoint()).setEntry(settings.entry().toString())
                .setDataset(settings.dataset()).setTopK(settings.topK()).setBatchSize(settings.batchSize());
    }

    public void run() throws IOException {
        SparkSession spark = SparkSession.builder().appName("emaspark-predict").getOrCreate();
        try {
            run(spark);
        } finally {
            spark.stop();
        }
    }

    public void run(SparkSession spark) throws IOException {
        Dataset<Row> images = read(spark);
        ScoringStats stats = ScoringStats.register(spark.sparkContext());
        // Exactly what plan() resolved and described: its folder, entry and checksum, which executors check.
        ImageClassifier classifier = classifier(settings).setInputCol(input.imageColumn).setStats(stats);
        Dataset<Row> scored = classifier.score(images.select(input.imageColumn, input.keptColumns), model).drop(input.imageColumn);
        long start = System.nanoTime();
        write(spark, scored);
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "scored %d images, %d skipped, in %.1f s on %s with the %s into %s%n", stats.images(),
                stats.skipped(), seconds, stats.devices(), model.describe(), settings.out());
        stats.perExecutor().forEach(System.out::println);
        stats.skippedExamples().forEach(reason -> LOG.warn("skipped: {}", reason));
        if (input == Input.PREPARED_SPLIT) {
            printErrors(spark);
        }
    }

    /**
     * The input as the evaluation slices a split (NUM_GPUS tasks, at most one per shard: the same batches, the
     * same scores) and as Spark lists a folder; with --partitions, over that many tasks.
     */
    private Dataset<Row> read(SparkSession spark) throws IOException {
        Map<String, String> hadoop = HadoopSettings.of(spark.sparkContext().hadoopConfiguration());
        if (input == Input.PREPARED_SPLIT) {
            int tasks = settings.partitions() > 0 ? settings.partitions() : model.cfg().getInt("NUM_GPUS");
            Dataset<Row> rows = PreparedSplit.read(spark, settings.input(), tasks, hadoop); // at most a task per shard
            int shardTasks = rows.rdd().getNumPartitions();
            if (tasks <= shardTasks) {
                return rows;
            }
            LOG.info("{}: {} shard(s) for --partitions {}: their rows are spread over the tasks", settings.input(), shardTasks, tasks);
            return rows.repartition(tasks);
        }
        Dataset<Row> files = spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(settings.input().toString());
        return settings.partitions() > 0 ? files.repartition(settings.partitions()) : files;
    }

    /** Into a temporary folder, then moved in place: a failed job leaves no half-written output under --out. */
    private void write(SparkSession spark, Dataset<Row> scored) throws IOException {
        Path out = settings.out();
        FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
        Path temp = new Path(out.getParent(), "." + out.getName() + ".tmp-" + UUID.randomUUID());
        try {
            scored.write().parquet(temp.toString());
            if (settings.overwrite() && fs.exists(out)) {
                Replace.replace(fs, temp, out);
            } else {
                Replace.move(fs, temp, out);
            }
        } catch (IOException | RuntimeException e) {
            Replace.discard(fs, temp);
            throw e;
        }
    }

    /** Top-1/top-5 error of the written predictions against the split's labels, as the evaluation counts them. */
    private void printErrors(SparkSession spark) {
        Column prediction = col("prediction");
        Row totals = spark.read().parquet(settings.out().toString()).agg(
                count(lit(1)),
                sum(when(prediction.isNotNull(), 1).otherwise(0)),
                sum(when(col("prediction.class_index").equalTo(col("label")), 1).otherwise(0)),
                // top-5 even when --top-k asks for more classes
                sum(when(array_contains(slice(col("prediction.top_k.class_index"), 1, 5), col("label")), 1).otherwise(0))).first();
        long scored = totals.isNullAt(1) ? 0 : totals.getLong(1);
        long top1 = totals.isNullAt(2) ? 0 : totals.getLong(2);
        long topK = totals.isNullAt(3) ? 0 : totals.getLong(3);
        EvalCounts counts = new EvalCounts(scored, top1, topK, top1, topK); // the evaluation's error formula
        String top5 = settings.topK() >= 5 ? String.format(Locale.ROOT, ", top-5 error %.3f %%", counts.modelTop5Err()) : "";
        // Compared only on the split the checkpoint was evaluated on, where the two must be equal.
        String testSplit = model.cfg().getString("TEST.SPLIT");
        if (model.top1Err() >= 100.0 && model.top5Err() >= 100.0) { // e.g. a power EMA of an epoch EMA.EVAL_PERIOD skipped
            System.out.printf(Locale.ROOT, "top-1 error %.3f %%%s on %d labelled images of %d rows; the checkpoint records no "
                    + "evaluation of its %s%n", counts.modelTop1Err(), top5, scored, totals.getLong(0), model.entryName());
            return;
        }
        String verdict = !settings.input().getName().equals(testSplit) ? ""
                : counts.modelTop1Err() == model.top1Err() ? " (top-1 equal)" : " (top-1 differs: not the same images or weights)";
        System.out.printf(Locale.ROOT, "top-1 error %.3f %%%s on %d labelled images of %d rows; the checkpoint's evaluation of "
                + "its %s on %s: top-1 %.3f %%, top-5 %.3f %%%s%n", counts.modelTop1Err(), top5, scored, totals.getLong(0),
                model.entryName(), testSplit, model.top1Err(), model.top5Err(), verdict);
    }
}
