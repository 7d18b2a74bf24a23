package ai.emaspark.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.checkpoint.CheckpointMeta;
import ai.emaspark.checkpoint.CheckpointStore;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** From a checkpoint URI and an entry to what scoring needs, and from logits to the output struct: no Spark. */
class ClassifierModelTest {
    @TempDir
    static Path tmp;
    private static ScoringFixture world;

    @BeforeAll
    static void write() throws Exception {
        world = new ScoringFixture(tmp);
    }

    private static ClassifierModel resolve(org.apache.hadoop.fs.Path uri, String entry) throws Exception {
        return new ImageClassifier().setCheckpoint(uri.toString()).setEntry(entry).resolve(world.fs.getConf());
    }

    @Test
    void entriesNameTheirWeightsAndBestIsTheLowerTop1Error() throws Exception {
        org.apache.hadoop.fs.Path last = world.checkpoints.get(2);
        ClassifierModel ema = resolve(last, "ema");
        assertEquals(CheckpointStore.EMA, ema.file());
        assertEquals(30.0, ema.top1Err());
        assertEquals(3, ema.epoch());
        assertEquals(CheckpointStore.MODEL, resolve(last, "model").file());
        assertEquals(40.0, resolve(last, "model").top1Err());
        assertEquals(CheckpointStore.EMA, resolve(last, "best").file(), "the EMA's 30 % beats the model's 40 %");
        CheckpointMeta modelBetter = new CheckpointMeta(2, 2, 30, 20.0, 1.0, 30.0, 2.0, "");
        assertEquals(CheckpointStore.MODEL, CheckpointEntry.BEST.file(modelBetter));
        assertEquals(6, ema.evalBatchSize(), "TEST.BATCH_SIZE / NUM_GPUS");
        assertEquals(ScoringFixture.WNIDS, ema.labels().wnids());
        assertEquals(ScoringFixture.NAMES, ema.labels().names());
        InferenceException wrong = assertThrows(InferenceException.class, () -> CheckpointEntry.parse("latest"));
        assertEquals("checkpoint entry 'latest' is not one of ema, model, best, or a power EMA of EMA.POWER_SIGMA_RELS such as p0.100",
                wrong.getMessage());
    }

    @Test
    void aPowerEmaIsAnEntryByNameWithItsOwnErrorsAndOneLineWhereThereIsNone() throws Exception {
        ClassifierModel power = resolve(world.checkpoints.get(2), "p0.1");
        assertEquals("ema_p0.100.safetensors", power.file());
        assertEquals("ema p0.100", power.entryName());
        assertEquals(20.0, power.top1Err());
        assertEquals(1.5, power.top5Err());
        assertEquals(3, power.epoch());
        assertTrue(power.describe().startsWith("ema p0.100 of "), power.describe());
        assertEquals(new CheckpointEntry("p0.100"), CheckpointEntry.parse(" P0.100 "));
        InferenceException other = assertThrows(InferenceException.class, () -> resolve(world.checkpoints.get(2), "p0.05"));
        assertEquals("the checkpoint has no power EMA p0.050 (it has p0.100): choose ema, model, best or one of those",
                other.getMessage());
        InferenceException none = assertThrows(InferenceException.class, () -> resolve(world.checkpoints.get(0), "p0.100"));
        assertEquals("the checkpoint has no power EMA p0.100 (its run kept none: EMA.POWER_SIGMA_RELS): choose ema, model, best",
                none.getMessage());
    }

    /** A post-hoc reconstruction (PostHocEma) is a checkpoint folder whose ema entry it is, with the error its --eval measured. */
    @Test
    void aPostHocReconstructionIsACheckpointWithItsOwnError() throws Exception {
        ai.emaspark.checkpoint.PostHocStore store = new ai.emaspark.checkpoint.PostHocStore(world.fs, world.outDir);
        org.apache.hadoop.fs.Path folder = store.writeReconstruction("r0.150", world.power, new com.fasterxml.jackson.databind.ObjectMapper()
                .createObjectNode().put("sigma_rel", 0.15).put("epoch", 2).put("ema_err", 17.5).put("ema_top5_err", 0.5), world.cfg.toYaml());
        ClassifierModel rebuilt = resolve(folder, "ema");
        assertEquals(folder.toString(), rebuilt.directory());
        assertEquals(CheckpointStore.EMA, rebuilt.file());
        assertEquals(17.5, rebuilt.top1Err());
        assertEquals(0.5, rebuilt.top5Err());
        assertEquals(3, rebuilt.epoch());
        assertEquals(rebuilt.sha256(), new CheckpointStore(world.fs, world.outDir).stateSha256(folder, CheckpointStore.EMA));
    }

    @Test
    void anOutDirMeansItsNewestCheckpointThatVerifies() throws Exception {
        assertEquals(world.checkpoints.get(2).toString(), resolve(world.outDir, "ema").directory());
        // A damaged newest checkpoint (its EMA entry rewritten) is passed over for the one before.
        java.nio.file.Path copy = tmp.resolve("damaged");
        org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(copy.toUri());
        org.apache.hadoop.fs.FileUtil.copy(world.fs, world.outDir, world.fs, run, false, world.fs.getConf());
        org.apache.hadoop.fs.Path newest = new org.apache.hadoop.fs.Path(run, "checkpoints/model_epoch_0003");
        try (OutputStream out = world.fs.create(new org.apache.hadoop.fs.Path(newest, CheckpointStore.EMA), true)) {
            out.write(new byte[] {1, 2, 3});
        }
        assertTrue(resolve(run, "ema").directory().endsWith("checkpoints/model_epoch_0002"));
    }

    @Test
    void wrongPlacesAreOneLineNamingTheFix() {
        org.apache.hadoop.fs.Path nowhere = new org.apache.hadoop.fs.Path(world.root, "nowhere");
        InferenceException neither = assertThrows(InferenceException.class, () -> resolve(nowhere, "ema"));
        assertTrue(neither.getMessage().contains("is neither a checkpoint (no meta.json) nor a run's OUT_DIR"), neither.getMessage());
        InferenceException none = assertThrows(InferenceException.class,
                () -> new ImageClassifier().resolve(world.fs.getConf()));
        assertTrue(none.getMessage().startsWith("no checkpoint: setCheckpoint("), none.getMessage());
        InferenceException moved = assertThrows(InferenceException.class, () -> new ImageClassifier()
                .setCheckpoint(world.checkpoints.get(0).toString()).setDataset(nowhere.toString()).resolve(world.fs.getConf()));
        assertTrue(moved.getMessage().contains("if it has moved, give its new place (setDataset, or --dataset for Predict)"),
                moved.getMessage());
    }

    @Test
    void predictionsRankByLogitWithSoftmaxProbabilities() {
        ClassLabels labels = new ClassLabels(ScoringFixture.WNIDS, java.util.Arrays.asList("a", null, "c", "d"));
        float[] logits = {0.5f, 2.0f, -1.0f, 2.0f, /* second image */ 3.0f, 1.0f, 2.0f, 0.0f};
        Row second = new Predictions(labels, 3, true).of(logits, 1);
        assertEquals(0, second.getInt(0));
        assertEquals("n01440764", second.getString(1));
        assertEquals("a", second.getString(2));
        List<Row> top = second.getList(4);
        assertEquals(List.of(0, 2, 1), top.stream().map(r -> r.getInt(0)).toList());
        double sum = Math.exp(3) + Math.exp(1) + Math.exp(2) + Math.exp(0);
        assertEquals((float) (Math.exp(3) / sum), top.get(0).getFloat(3));
        assertEquals((float) (Math.exp(2) / sum), top.get(1).getFloat(3));
        Row first = new Predictions(labels, 4, false).of(logits, 0);
        List<Row> all = first.getList(4);
        assertEquals(List.of(1, 3, 0, 2), all.stream().map(r -> r.getInt(0)).toList(), "a tie goes to the lower class index");
        assertNull(all.get(0).getString(2), "a class without a name");
        assertEquals(2.0f, first.getFloat(3), "the raw logit without softmax");
    }
}
