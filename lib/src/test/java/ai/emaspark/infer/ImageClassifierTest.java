package ai.emaspark.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.data.PyclsTransforms;
import ai.emaspark.model.ModelState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.ml.image.ImageSchema;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.Mat;

/** The Transformer on a local[2] Spark: same logits as the training job's evaluation, schema, skips, entries, stats. */
class ImageClassifierTest {
    private static final StructType BYTES = DataTypes.createStructType(List.of(
            DataTypes.createStructField("id", DataTypes.IntegerType, false),
            DataTypes.createStructField("content", DataTypes.BinaryType, true)));
    /** Rows of the sample's 16 JPEGs with a text file at row 5 and a null at row 11. */
    private static final int TEXT_ROW = 5;
    private static final int NULL_ROW = 11;

    @TempDir
    static Path tmp;
    private static ScoringFixture world;
    private static SparkSession spark;
    private static List<byte[]> cells;

    @BeforeAll
    static void start() throws Exception {
        world = new ScoringFixture(tmp);
        cells = new ArrayList<>(world.jpegs);
        cells.add(TEXT_ROW, "<html>not an image</html>".getBytes(StandardCharsets.UTF_8));
        cells.add(NULL_ROW, null);
        spark = SparkSession.builder().master("local[2]").appName("image-classifier-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static Dataset<Row> images(int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < cells.size(); i++) {
            rows.add(RowFactory.create(i, cells.get(i)));
        }
        Dataset<Row> data = spark.createDataFrame(rows, BYTES);
        return partitions == 1 ? data.coalesce(1) : data.repartition(partitions); // one partition keeps the rows' order
    }

    private static ImageClassifier classifier(int checkpoint, String entry) {
        return new ImageClassifier().setCheckpoint(world.checkpoints.get(checkpoint).toString()).setEntry(entry)
                .setInputCol("content");
    }

    private static List<Row> sorted(Dataset<Row> scored) {
        List<Row> rows = new ArrayList<>(scored.collectAsList());
        rows.sort(Comparator.comparingInt(r -> r.getInt(0)));
        return rows;
    }

    /** Every row's top_k scores against the evaluation's logits, bit for bit; undecodable rows null. */
    private static void assertEvaluationLogits(ModelState weights, List<Row> rows) throws Exception {
        assertEvaluationLogits(weights, rows, 0);
    }

    /** The same within {@code tolerance} (0: bit for bit). */
    private static void assertEvaluationLogits(ModelState weights, List<Row> rows, float tolerance) throws Exception {
        float[] expected = world.evaluationLogits(weights, cells.stream().filter(c -> c != null).toList());
        int image = 0;
        for (Row row : rows) {
            Row prediction = row.getStruct(2);
            if (row.getInt(0) == TEXT_ROW || row.getInt(0) == NULL_ROW) {
                assertNull(prediction, "row " + row.getInt(0) + " does not decode");
                continue;
            }
            assertNotNull(prediction, "row " + row.getInt(0));
            List<Row> top = prediction.getList(4);
            assertEquals(4, top.size());
            for (int k = 0; k < top.size(); k++) {
                float logit = expected[image * 4 + top.get(k).getInt(0)];
                if (tolerance == 0) {
                    assertEquals(Float.floatToIntBits(logit), Float.floatToIntBits(top.get(k).getFloat(3)),
                            "row " + row.getInt(0) + " class " + top.get(k).getInt(0));
                } else {
                    assertEquals(logit, top.get(k).getFloat(3), tolerance, "row " + row.getInt(0) + " class " + top.get(k).getInt(0));
                }
                if (k > 0) {
                    assertTrue(top.get(k - 1).getFloat(3) >= top.get(k).getFloat(3), "best first");
                }
            }
            assertEquals(top.get(0).getInt(0), prediction.getInt(0));
            image++;
        }
        assertEquals(expected.length / 4, image);
    }

    @Test
    void scoresExactlyAsTheEvaluationAndNullsWhatDoesNotDecode() throws Exception {
        ScoringStats stats = ScoringStats.register(spark.sparkContext());
        Dataset<Row> scored = classifier(2, "ema").setApplySoftmax(false).setTopK(4).setStats(stats).transform(images(1));
        assertEvaluationLogits(world.ema, sorted(scored));
        assertEquals(16, stats.images());
        assertEquals(2, stats.skipped());
        assertTrue(stats.skippedExamples().contains("no image (null)"), stats.skippedExamples().toString());
        assertEquals(1, stats.perExecutor().size(), stats.perExecutor().toString());
    }

    @Test
    void anotherBatchSizeChangesOnlyTheLastBits() throws Exception {
        List<Row> rows = sorted(classifier(2, "ema").setApplySoftmax(false).setTopK(4).setBatchSize(5).transform(images(3)));
        assertEvaluationLogits(world.ema, rows, 1e-6f); // libtorch's kernels vary with the batch: why the default is the evaluation's
    }

    @Test
    void theModelEntryScoresWithTheModelWeights() throws Exception {
        assertEvaluationLogits(world.model, sorted(classifier(2, "model").setApplySoftmax(false).setTopK(4).transform(images(1))));
    }

    @Test
    void aPowerEmaEntryScoresWithItsWeights() throws Exception {
        assertEvaluationLogits(world.power, sorted(classifier(2, "p0.100").setApplySoftmax(false).setTopK(4).transform(images(1))));
    }

    @Test
    void schemaSoftmaxAndTopK() {
        Dataset<Row> scored = classifier(2, "best").setOutputCol("label").transform(images(1));
        StructType expected = BYTES.add("label", Predictions.SCHEMA, true);
        assertEquals(expected, scored.schema());
        for (Row row : scored.collectAsList()) {
            Row prediction = row.getStruct(2);
            if (prediction == null) {
                continue;
            }
            List<Row> top = prediction.getList(4);
            assertEquals(4, top.size(), "topK 5 lists all 4 classes");
            double sum = top.stream().mapToDouble(r -> r.getFloat(3)).sum();
            assertEquals(1.0, sum, 1e-6, "softmax over all classes");
            int index = prediction.getInt(0);
            assertEquals(ScoringFixture.WNIDS.get(index), prediction.getString(1));
            assertEquals(ScoringFixture.NAMES.get(index), prediction.getString(2));
        }
        assertEquals(2, classifier(2, "ema").setTopK(2).transform(images(1)).first().getStruct(2).getList(4).size());
    }

    @Test
    void weightsAreReadOncePerExecutorJvm() {
        ScoringStats stats = ScoringStats.register(spark.sparkContext());
        // Checkpoint 1 is read by no other test: 4 partitions, 2 at a time, one JVM.
        classifier(0, "ema").setStats(stats).transform(images(4)).count();
        assertEquals(4, stats.partitions().size());
        assertEquals(1, stats.partitions().stream().filter(PartitionStats::readWeights).count());
        assertEquals(16, stats.images());
    }

    @Test
    void sparkImageStructsScoreAsTheirEncodedBytes() throws Exception {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < cells.size(); i++) {
            rows.add(RowFactory.create(i, cells.get(i) == null || i == TEXT_ROW ? null : struct(cells.get(i))));
        }
        StructType schema = DataTypes.createStructType(List.of(DataTypes.createStructField("id", DataTypes.IntegerType, false),
                DataTypes.createStructField("image", ImageSchema.columnSchema(), true)));
        Dataset<Row> scored = new ImageClassifier().setCheckpoint(world.checkpoints.get(2).toString()).setApplySoftmax(false)
                .setTopK(4).transform(spark.createDataFrame(rows, schema).coalesce(1));
        assertEvaluationLogits(world.ema, sorted(scored));
    }

    /** Spark's image struct of a JPEG, decoded as imdecode does (BGR bytes, CV_8UC3). */
    private static Row struct(byte[] jpeg) {
        Mat bgr = PyclsTransforms.decode(jpeg);
        byte[] data = new byte[(int) (bgr.total() * bgr.channels())];
        bgr.get(0, 0, data);
        Row row = RowFactory.create("test", bgr.rows(), bgr.cols(), 3, 16, data);
        bgr.release();
        return row;
    }

    @Test
    void refusesColumnsItCannotUse() {
        Dataset<Row> data = images(1);
        InferenceException missing = assertThrows(InferenceException.class, () -> classifier(2, "ema").setInputCol("jpeg").transform(data));
        assertTrue(missing.getMessage().startsWith("no input column jpeg among [id, content]"), missing.getMessage());
        InferenceException type = assertThrows(InferenceException.class, () -> classifier(2, "ema").setInputCol("id").transform(data));
        assertTrue(type.getMessage().startsWith("input column id is int: give a binary column"), type.getMessage());
        // Spark's image struct by its names, but height a string: refused before any task, not a failure in every one.
        StructType lookalike = DataTypes.createStructType(List.of(DataTypes.createStructField("image", DataTypes.createStructType(
                List.of(DataTypes.createStructField("origin", DataTypes.StringType, true),
                        DataTypes.createStructField("height", DataTypes.StringType, true),
                        DataTypes.createStructField("width", DataTypes.IntegerType, true),
                        DataTypes.createStructField("nChannels", DataTypes.IntegerType, true),
                        DataTypes.createStructField("mode", DataTypes.IntegerType, true),
                        DataTypes.createStructField("data", DataTypes.BinaryType, true))), true)));
        InferenceException struct = assertThrows(InferenceException.class,
                () -> classifier(2, "ema").setInputCol("image").transformSchema(lookalike));
        assertTrue(struct.getMessage().startsWith("input column image has the image struct's field names but its height is string, "
                + "not int: give Spark's image struct as the image data source makes it (struct<origin:string,height:int,"), struct.getMessage());
        InferenceException taken = assertThrows(InferenceException.class, () -> classifier(2, "ema").setOutputCol("id").transform(data));
        assertEquals("the output column id exists already: setOutputCol to another name", taken.getMessage());
    }

    @Test
    void paramsSaveAndLoad() throws Exception {
        String path = tmp.resolve("saved-classifier").toString();
        classifier(1, "best").setTopK(3).setApplySoftmax(false).setBatchSize(7).write().save(path);
        ImageClassifier loaded = ImageClassifier.load(path);
        assertEquals(world.checkpoints.get(1).toString(), loaded.getCheckpoint());
        assertEquals("best", loaded.getEntry());
        assertEquals("content", loaded.getInputCol());
        assertEquals(3, loaded.getTopK());
        assertEquals(false, loaded.getApplySoftmax());
        assertEquals(7, loaded.getBatchSize());
    }

    @Test
    void hadoopSettingsSetAtRuntimeReachTheTasksThatReadTheWeights() throws Exception {
        // As a notebook sets credentials: a mount table set on the live configuration, with FileSystem's cache off
        // so that each task builds its own file system from the settings it was given.
        org.apache.hadoop.conf.Configuration live = spark.sparkContext().hadoopConfiguration();
        live.set("fs.viewfs.mounttable.runtime.link./runs", world.outDir.toString());
        live.setBoolean("fs.viewfs.impl.disable.cache", true);
        try {
            String viaMount = "viewfs://runtime/runs/checkpoints/" + world.checkpoints.get(2).getName();
            List<Row> rows = sorted(new ImageClassifier().setCheckpoint(viaMount).setEntry("ema").setInputCol("content")
                    .setApplySoftmax(false).setTopK(4).transform(images(1)));
            assertEvaluationLogits(world.ema, rows);
        } finally {
            live.unset("fs.viewfs.mounttable.runtime.link./runs");
            live.unset("fs.viewfs.impl.disable.cache");
        }
    }

    @Test
    void aSavedClassifierScoresWithTheWeightsItWasSavedWithOrRefuses() throws Exception {
        org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(tmp.resolve("followed-run").toUri());
        ai.emaspark.checkpoint.CheckpointStore store = new ai.emaspark.checkpoint.CheckpointStore(world.fs, run);
        org.apache.hadoop.fs.Path first = store.commit(checkpoint(0, world.ema));
        String path = tmp.resolve("saved-pinned").toString();
        new ImageClassifier().setCheckpoint(run.toString()).setInputCol("content").write().save(path); // OUT_DIR: its newest
        ImageClassifier loaded = ImageClassifier.load(path);
        assertEquals(store.stateSha256(first, ai.emaspark.checkpoint.CheckpointStore.EMA), loaded.getCheckpointSha256());

        store.commit(checkpoint(1, world.model)); // the run went on: OUT_DIR's newest EMA is other weights
        InferenceException other = assertThrows(InferenceException.class,
                () -> loaded.setApplySoftmax(false).setTopK(4).transform(images(1)));
        assertTrue(other.getMessage().startsWith("the ema weights in " + run + "/checkpoints/model_epoch_0002 are not the ones this "
                + "classifier was saved with (sha256 "), other.getMessage());
        assertTrue(other.getMessage().endsWith("or setFollowNewest(true) to score with what it holds now"), other.getMessage());
        assertEvaluationLogits(world.model, sorted(loaded.setFollowNewest(true).transform(images(1))));
    }

    @Test
    void predictScoresTheWeightsItsPlanDescribedOrNothing() throws Exception {
        org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(tmp.resolve("replaced-run").toUri());
        ai.emaspark.checkpoint.CheckpointStore store = new ai.emaspark.checkpoint.CheckpointStore(world.fs, run);
        org.apache.hadoop.fs.Path planned = store.commit(checkpoint(0, world.ema));
        org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(tmp.resolve("replaced-predictions").toUri());
        PredictDriver driver = PredictDriver.plan(new PredictSettings(planned.toString(), CheckpointEntry.EMA,
                new org.apache.hadoop.fs.Path(world.root, "raw/val"), out, 4, 0, "", false, 0));
        store.commit(checkpoint(0, world.model)); // epoch 1 written again (a retried epoch) between the plan and the job
        Exception failed = assertThrows(Exception.class, () -> driver.run(spark));
        assertTrue(String.valueOf(failed.getMessage()).contains(planned + " changed since the job started"), failed.toString());
        assertTrue(!world.fs.exists(out), "no predictions of weights the plan did not describe");
    }

    @Test
    void predictScoresAPreparedSplitOverMoreTasksThanItHasShards() throws Exception {
        org.apache.hadoop.fs.Path dataset = new org.apache.hadoop.fs.Path(tmp.resolve("prepared").toUri());
        ai.emaspark.data.ShardInfo shard;
        world.fs.mkdirs(new org.apache.hadoop.fs.Path(dataset, "val"));
        try (ai.emaspark.data.ShardWriter writer = new ai.emaspark.data.ShardWriter(world.fs,
                new org.apache.hadoop.fs.Path(dataset, "val/part-00000.parquet"), world.fs.getConf())) {
            for (int i = 0; i < world.jpegs.size(); i++) {
                writer.write(new ai.emaspark.data.ImageRow("image-" + i, "", i % 4, ScoringFixture.WNIDS.get(i % 4),
                        world.jpegs.get(i), 0, 0, null));
            }
            shard = writer.finish();
        }
        new ai.emaspark.data.Manifest(ai.emaspark.data.Manifest.FORMAT_VERSION, "test", ScoringFixture.WNIDS, java.util.Map.of(),
                java.util.Map.of("val", new ai.emaspark.data.Manifest.Split(shard.rows(), shard.bytes(), List.of(shard), List.of())))
                .write(world.fs, dataset);
        java.util.Map<String, String> asEvaluated = predict(dataset, 0); // NUM_GPUS (1) task: the evaluation's batches
        assertEquals(asEvaluated, predict(dataset, 1), "--partitions equal to NUM_GPUS: the very same scores, bit for bit");
        java.util.Map<String, String> spread = predict(dataset, 3);
        assertEquals(world.jpegs.size(), spread.size(), "every image once");
        assertEquals(classes(asEvaluated), classes(spread), "the same top-1 class for every image");
    }

    private static java.util.Map<String, String> classes(java.util.Map<String, String> scores) {
        java.util.Map<String, String> classes = new java.util.TreeMap<>();
        scores.forEach((key, score) -> classes.put(key, score.substring(0, score.indexOf(' '))));
        return classes;
    }

    /**
     * Predict over a prepared split with --partitions; checks the output's Parquet files and returns each
     * key's "class probability-bits".
     */
    private static java.util.Map<String, String> predict(org.apache.hadoop.fs.Path dataset, int partitions) throws Exception {
        org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(tmp.resolve("predicted-over-" + partitions).toUri());
        PredictDriver.plan(new PredictSettings(world.checkpoints.get(2).toString(), CheckpointEntry.EMA,
                new org.apache.hadoop.fs.Path(dataset, "val"), out, 4, 0, "", false, partitions)).run(spark);
        long files = java.util.Arrays.stream(world.fs.listStatus(out)).filter(f -> f.getPath().getName().endsWith(".parquet")).count();
        assertEquals(partitions == 0 ? 1 : partitions, files, "one output file per scoring task");
        java.util.Map<String, String> scores = new java.util.TreeMap<>();
        for (Row row : spark.read().parquet(out.toString()).select("key", "prediction.class_index", "prediction.probability")
                .collectAsList()) {
            scores.put(row.getString(0), row.getInt(1) + " " + Float.floatToRawIntBits(((Number) row.get(2)).floatValue()));
        }
        return scores;
    }

    private static ai.emaspark.checkpoint.Checkpoint checkpoint(int epoch, ModelState ema) {
        return new ai.emaspark.checkpoint.Checkpoint(epoch, 10L * (epoch + 1), world.model, ema,
                ai.emaspark.train.OptimizerState.fresh(world.layout.gradientCount()), 40.0, 5.0, 30.0, 2.5, world.cfg.toYaml());
    }
}
