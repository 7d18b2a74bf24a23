package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.data.Manifest;
import ai.emaspark.eval.EvalCounts;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Batch inference through spark-submit, as users run it: the EMA of the reference run's first checkpoint
 * scores the prepared validation split, every image gets a prediction in the Parquet output, and the
 * top-1 error of those predictions is the one the training job's evaluation wrote in meta.json, exactly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(ItPlatform.Resolver.class)
class PredictIT {
    /** One output row: the image's key and label, and the predicted class (-1 when the row has no prediction). */
    private record Scored(String key, int label, int predicted, String wnid, List<Float> topK) {}

    @Test
    void theEmaScoresTheValidationSplitWithTheErrorItsCheckpointRecorded(ItPlatform platform) throws Exception {
        // The first epoch's EMA: far from perfect, so its error is a number to match, not 0 = 0.
        ItPlatform.Reference reference = platform.reference();
        Path first = platform.store(reference.outDir()).committed().get(0);
        Checkpoint scored = platform.store(reference.outDir()).loadWeights(first, platform.layout);
        assertTrue(scored.emaErr() > 10, "a checkpoint whose EMA errs: " + scored.emaErr());
        String checkpoint = first.toString();
        String out = platform.uri + "/predict-it/val-ema";
        String[] command = {"--checkpoint", checkpoint, "--entry", "ema", "--input", platform.dataset + "/val", "--out", out};
        SparkSubmitRun run = SparkSubmitRun.startPredict(platform.cluster(), platform.work.resolve("logs/predict.log"), command);
        assertEquals(0, run.waitFor(10), () -> "Predict failed; see " + run.log);

        Manifest manifest = Manifest.read(platform.fs, new Path(platform.dataset));
        List<Scored> rows = read(platform, new Path(out));
        long images = manifest.splits().get("val").images();
        assertEquals(images, rows.size(), "one row per validation image");
        assertEquals(images, rows.stream().map(Scored::key).distinct().count());
        assertTrue(rows.stream().allMatch(r -> r.predicted() >= 0), "every validation image was scored");
        long top1 = rows.stream().filter(r -> r.predicted() == r.label()).count();
        double top1Err = new EvalCounts(rows.size(), 0, 0, top1, 0).emaTop1Err(); // the evaluation's formula
        assertEquals(scored.emaErr(), top1Err, 0.0, "Predict's top-1 error vs the checkpoint's ema_err");
        String output = run.output();
        assertTrue(output.contains("scored " + images + " images, 0 skipped"), output);
        assertTrue(output.contains("(top-1 equal)"), output);
        assertTrue(output.contains(" images, 0 skipped, in ") && output.contains(" s on cpu with the ema of " + checkpoint), output);
        assertTrue(output.lines().anyMatch(l -> l.matches("executor \\S+ on cpu: .*")), output);
        assertTrue(output.lines().anyMatch(l -> l.startsWith("executor ") && l.contains(" images/s ")), output);
        for (Scored row : rows.subList(0, 5)) {
            assertEquals(manifest.classes().get(row.predicted()), row.wnid());
            assertEquals(5, row.topK().size());
            for (int k = 1; k < 5; k++) {
                assertTrue(row.topK().get(k - 1) >= row.topK().get(k), "top_k best first: " + row.topK());
            }
        }

        SparkSubmitRun again = SparkSubmitRun.startPredict(platform.cluster(), platform.work.resolve("logs/predict-again.log"), command);
        assertEquals(2, again.waitFor(5), "an existing --out is refused before Spark starts");
        assertEquals(List.of("emaspark: error: output " + out + " already exists: choose another --out, or add --overwrite to replace "
                + "it once the new one is complete"), again.errors());
    }

    /** The Parquet output through parquet-hadoop's example reader (Spark writes the array as a 3-level list). */
    private static List<Scored> read(ItPlatform platform, Path out) throws Exception {
        List<Scored> rows = new ArrayList<>();
        for (FileStatus file : platform.fs.listStatus(out, p -> p.getName().endsWith(".parquet"))) {
            try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(), file.getPath())
                    .withConf(platform.fs.getConf()).build()) {
                for (Group row = reader.read(); row != null; row = reader.read()) {
                    if (row.getFieldRepetitionCount("prediction") == 0) {
                        rows.add(new Scored(row.getString("key", 0), row.getInteger("label", 0), -1, null, List.of()));
                        continue;
                    }
                    Group prediction = row.getGroup("prediction", 0);
                    Group list = prediction.getGroup("top_k", 0);
                    List<Float> topK = new ArrayList<>();
                    for (int k = 0; k < list.getFieldRepetitionCount("list"); k++) {
                        topK.add(list.getGroup("list", k).getGroup("element", 0).getFloat("probability", 0));
                    }
                    rows.add(new Scored(row.getString("key", 0), row.getInteger("label", 0), prediction.getInteger("class_index", 0),
                            prediction.getString("wnid", 0), topK));
                }
            }
        }
        return rows;
    }
}
