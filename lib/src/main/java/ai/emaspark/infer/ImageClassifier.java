package ai.emaspark.infer;

import ai.emaspark.spark.HadoopSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReadable;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Spark ML Transformer that classifies images with a checkpoint of the training job, shaped like DJL's
 * ImageClassifier: an input column of image file bytes ({@code binaryFile}'s {@code content}, a prepared
 * shard's {@code image}) or Spark's {@code image} struct; an output column holding the top class (index,
 * wnid, name, probability) and the top k. Images go through pycls's test transform and the training job's
 * own replica in inference mode, in batches of the evaluation's size, so a prepared split scores exactly
 * as the evaluation did. Weights are read once per executor JVM. An image that does not decode gets a null
 * prediction (counted in {@link ScoringStats}, logged by its executor); it never fails the job.
 *
 * <pre>{@code
 * Dataset<Row> scored = new ImageClassifier()
 *         .setCheckpoint("hdfs://nn:8020/runs/r50/checkpoints/best").setEntry("ema")
 *         .setInputCol("content").setOutputCol("prediction").setTopK(5)
 *         .transform(spark.read().format("binaryFile").load("hdfs://nn:8020/photos"));
 * }</pre>
 */
public final class ImageClassifier extends ImageClassifierParams implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ImageClassifier.class);

    private transient ScoringStats stats; // not a Param: a live accumulator of one application

    public ImageClassifier() {
        this(Identifiable.randomUID("imageClassifier"));
    }

    public ImageClassifier(String uid) {
        super(uid);
    }

    public ImageClassifier setInputCol(String value) {
        return with(inputCol(), value);
    }

    public ImageClassifier setOutputCol(String value) {
        return with(outputCol(), value);
    }

    public ImageClassifier setCheckpoint(String uri) {
        return with(checkpoint(), uri);
    }

    public ImageClassifier setEntry(String value) {
        return with(entry(), value);
    }

    public ImageClassifier setDataset(String uri) {
        return with(dataset(), uri);
    }

    public ImageClassifier setTopK(int value) {
        return with(topK(), value);
    }

    public ImageClassifier setApplySoftmax(boolean value) {
        return with(applySoftmax(), value);
    }

    public ImageClassifier setBatchSize(int value) {
        return with(batchSize(), value);
    }

    public ImageClassifier setDecodeThreads(int value) {
        return with(decodeThreads(), value);
    }

    /** The weights to score with (their SHA-256, as meta.json lists it): any others are refused unless followNewest. */
    public ImageClassifier setCheckpointSha256(String value) {
        return with(checkpointSha256(), value);
    }

    /** Score with whatever the checkpoint holds now (OUT_DIR's newest, best/ as it is), not the weights it was saved with. */
    public ImageClassifier setFollowNewest(boolean value) {
        return with(followNewest(), value);
    }

    /** Gathers every scoring partition's {@link PartitionStats} into {@code sink} (images, skips, time per executor). */
    public ImageClassifier setStats(ScoringStats sink) {
        this.stats = sink;
        return this;
    }

    private <T> ImageClassifier with(Param<T> param, T value) {
        set(param, value);
        return this;
    }

    /** The checkpoint entry this classifier would score with, its config and classes: reads meta.json and the manifest. */
    public ClassifierModel resolve(org.apache.hadoop.conf.Configuration conf) throws IOException {
        if (getCheckpoint() == null) {
            throw new InferenceException("no checkpoint: setCheckpoint(OUT_DIR or OUT_DIR/checkpoints/model_epoch_NNNN or best)");
        }
        Path uri = new Path(getCheckpoint());
        return ClassifierModel.resolve(uri.getFileSystem(conf), uri, CheckpointEntry.parse(getEntry()), getDataset());
    }

    @Override
    public Dataset<Row> transform(Dataset<?> data) {
        transformSchema(data.schema());
        ClassifierModel model;
        try {
            model = resolve(data.sparkSession().sparkContext().hadoopConfiguration());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + getCheckpoint() + ": " + e.getMessage(), e);
        }
        checkWeights(model);
        return score(data, model);
    }

    /** Refuses weights other than those recorded in checkpointSha256, unless followNewest. */
    void checkWeights(ClassifierModel model) {
        String recorded = getCheckpointSha256();
        if (!recorded.isEmpty() && !getFollowNewest() && !recorded.equals(model.sha256())) {
            throw new InferenceException("the " + model.entryName() + " weights in " + model.directory() + " are not the ones this "
                    + "classifier was saved with (sha256 " + abbreviated(recorded) + " recorded, " + abbreviated(model.sha256())
                    + " now): the checkpoint was replaced or OUT_DIR has a newer one; set checkpoint to the folder that holds "
                    + "them, or setFollowNewest(true) to score with what it holds now");
        }
    }

    private static String abbreviated(String sha256) {
        return sha256.length() > 12 ? sha256.substring(0, 12) + "…" : sha256;
    }

    /**
     * Scores with a model resolved before (by Predict's plan): exactly its weights, whose checksum the
     * executors check when they read them, so what is scored is what the plan described.
     */
    Dataset<Row> score(Dataset<?> data, ClassifierModel model) {
        StructType output = transformSchema(data.schema());
        SparkSession spark = data.sparkSession();
        int batch = getBatchSize() == 0 ? model.evalBatchSize() : getBatchSize();
        int threads = getDecodeThreads() == 0 ? model.cfg().getInt("DATA_LOADER.NUM_WORKERS") : getDecodeThreads();
        // The live Hadoop configuration, not only spark.hadoop.*: settings a notebook set at runtime reach the executors.
        ScoringSettings settings = new ScoringSettings(model, data.schema().fieldIndex(getInputCol()),
                ImageInput.Kind.of(getInputCol(), data.schema().apply(getInputCol()).dataType()), getTopK(), getApplySoftmax(),
                batch, threads, HadoopSettings.of(spark.sparkContext().hadoopConfiguration()));
        LOG.info("scoring column {} into {} with the {}: batches of {}, {} decode thread(s) per task, top {}{}", getInputCol(),
                getOutputCol(), model.describe(), batch, threads, getTopK(), getApplySoftmax() ? "" : ", raw logits");
        return data.toDF().mapPartitions(new PartitionScorer(settings, stats == null ? null : stats.accumulator()),
                Encoders.row(output));
    }

    /** The input schema plus the output column; refuses a missing or unusable input column and a taken output name. */
    @Override
    public StructType transformSchema(StructType schema) {
        List<String> columns = Arrays.asList(schema.fieldNames());
        if (!columns.contains(getInputCol())) {
            throw new InferenceException("no input column " + getInputCol() + " among " + columns + ": setInputCol to the column of "
                    + "image bytes or images");
        }
        ImageInput.Kind.of(getInputCol(), schema.apply(getInputCol()).dataType());
        if (columns.contains(getOutputCol())) {
            throw new InferenceException("the output column " + getOutputCol() + " exists already: setOutputCol to another name");
        }
        return schema.add(getOutputCol(), Predictions.SCHEMA, true);
    }

    @Override
    public ImageClassifier copy(ParamMap extra) {
        ImageClassifier copy = defaultCopy(extra);
        copy.stats = stats;
        return copy;
    }

    /**
     * {@code write().save(path)}: the Params, with the SHA-256 of the weights the checkpoint holds now
     * recorded (unless followNewest), so the saved classifier scores with those weights or refuses.
     */
    @Override
    public MLWriter write() {
        ImageClassifier saved = copy(ParamMap.empty());
        if (getCheckpointSha256().isEmpty() && !getFollowNewest() && getCheckpoint() != null) {
            try {
                saved.setCheckpointSha256(resolve(SparkSession.active().sparkContext().hadoopConfiguration()).sha256());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read checkpoint " + getCheckpoint() + ": " + e.getMessage(), e);
            }
        }
        return saved.paramsWriter();
    }

    private MLWriter paramsWriter() {
        return DefaultParamsWritable.super.write();
    }

    /**
     * {@code ImageClassifier.read().load(path)}: the Params saved by {@code write().save(path)}; its
     * transform refuses weights other than those it was saved with, unless setFollowNewest(true).
     */
    public static MLReader<ImageClassifier> read() {
        return new Reader().read();
    }

    public static ImageClassifier load(String path) {
        return read().load(path);
    }

    private static final class Reader implements DefaultParamsReadable<ImageClassifier> {}
}
