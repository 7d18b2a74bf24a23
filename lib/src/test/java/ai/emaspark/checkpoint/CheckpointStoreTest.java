package ai.emaspark.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.ema.EmaBank;
import ai.emaspark.ema.PowerEma;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import ai.emaspark.model.TensorSpec.Role;
import ai.emaspark.train.OptimizerState;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Checkpoints on a real HDFS (MiniDFSCluster). */
class CheckpointStoreTest {
    private static final StateLayout LAYOUT = new StateLayout(List.of(
            new TensorSpec("stem.conv.weight", new long[] {4, 3, 3, 3}, false, true, Role.CONV_WEIGHT),
            new TensorSpec("stem.bn.weight", new long[] {4}, false, true, Role.BN_WEIGHT),
            new TensorSpec("stem.bn.bias", new long[] {4}, false, true, Role.BN_BIAS),
            new TensorSpec("stem.bn.running_mean", new long[] {4}, false, false, Role.BN_RUNNING_MEAN),
            new TensorSpec("stem.bn.running_var", new long[] {4}, false, false, Role.BN_RUNNING_VAR),
            new TensorSpec("stem.bn.num_batches_tracked", new long[0], true, false, Role.BN_BATCH_COUNT),
            new TensorSpec("head.fc.weight", new long[] {10, 4}, false, true, Role.LINEAR_WEIGHT),
            new TensorSpec("head.fc.bias", new long[] {10}, false, true, Role.LINEAR_BIAS)));

    private static MiniDFSCluster cluster;
    private static FileSystem fs;

    @BeforeAll
    static void startHdfs() throws Exception {
        cluster = ai.emaspark.fs.TestHdfs.start("checkpoint-hdfs");
        fs = cluster.getFileSystem();
    }

    @AfterAll
    static void stopHdfs() {
        cluster.shutdown();
    }

    private static ModelState state(long seed) {
        Random random = new Random(seed);
        float[] floats = new float[LAYOUT.floatCount()];
        for (int i = 0; i < floats.length; i++) {
            floats[i] = (float) random.nextGaussian();
        }
        return new ModelState(LAYOUT, floats, new long[] {seed * 100});
    }

    private static Checkpoint checkpoint(int epoch) {
        float[] momentum = new float[LAYOUT.gradientCount()];
        java.util.Arrays.fill(momentum, 0.5f + epoch);
        return new Checkpoint(epoch, 20L * (epoch + 1), state(epoch), state(epoch + 50), new OptimizerState(momentum, 20L * (epoch + 1)),
                41.5, 12.25, 39.0, 11.0, "OPTIM:\n  MAX_EPOCH: 3\n");
    }

    @Test
    void roundTripKeepsEveryEntryAndField() throws Exception {
        CheckpointStore store = new CheckpointStore(fs, new Path("/runs/roundtrip"));
        Path written = store.commit(checkpoint(6));
        assertEquals("/runs/roundtrip/checkpoints/model_epoch_0007", written.toUri().getPath());
        Checkpoint read = store.load(written, LAYOUT);
        assertEquals(state(6), read.model());
        assertEquals(state(56), read.ema());
        assertArrayEquals(checkpoint(6).optimizer().momentum(), read.optimizer().momentum());
        assertEquals(140, read.optimizer().steps());
        assertEquals(6, read.epoch());
        assertEquals(140, read.step());
        assertEquals(41.5, read.testErr());
        assertEquals(39.0, read.emaErr());
        assertEquals("OPTIM:\n  MAX_EPOCH: 3\n", read.configYaml());
        JsonNode meta = new ObjectMapper().readTree(fs.open(new Path(written, "meta.json")));
        assertEquals(1, meta.path("format_version").asInt());
        assertEquals(64, meta.path("entries").path("ema.safetensors").path("sha256").asText().length());
    }

    /**
     * Power EMAs are entries of their own with their widths and update count in meta.json, verified and
     * loaded back exactly; a checkpoint without them lists exactly the entries and fields it listed
     * before they existed.
     */
    @Test
    void powerEmasAreEntriesOfTheirOwnAndAbsentWithoutThem() throws Exception {
        CheckpointStore store = new CheckpointStore(fs, new Path("/runs/power"));
        Checkpoint plain = checkpoint(2);
        EmaBank emas = new EmaBank(plain.ema(), List.of(new EmaBank.Power(0.05, PowerEma.gamma(0.05), state(71)),
                new EmaBank.Power(0.10, PowerEma.gamma(0.10), state(72))), 60);
        Path written = store.commit(new Checkpoint(3, plain.step(), plain.model(), emas, plain.optimizer(), plain.testErr(),
                plain.testTop5Err(), plain.emaErr(), plain.emaTop5Err(), plain.configYaml(), List.of(),
                Map.of("p0.100", new TestErrors(3, 12.5, 1.5))));
        Checkpoint read = store.load(written, LAYOUT);
        assertEquals(state(52), read.ema(), "pycls's EMA as ever");
        assertEquals(60, read.emas().updates());
        assertEquals(List.of("p0.050", "p0.100"), read.emas().powers().stream().map(EmaBank.Power::name).toList());
        assertEquals(state(71), read.emas().powers().get(0).state());
        assertEquals(state(72), read.emas().powers().get(1).state());
        assertEquals(PowerEma.gamma(0.10), read.emas().powers().get(1).gamma());
        JsonNode meta = store.metaJson(written);
        assertEquals(List.of("model.safetensors", "ema.safetensors", "optimizer.safetensors", "ema_p0.050.safetensors",
                "ema_p0.100.safetensors"), fieldNames(meta.path("entries")));
        assertEquals("ema_p0.100.safetensors", meta.path("power_emas").path("profiles").get(1).path("entry").asText());
        assertEquals(12.5, meta.path("power_emas").path("profiles").get(1).path("err").asDouble(), "tested this epoch");
        assertTrue(meta.path("power_emas").path("profiles").get(0).path("err").isMissingNode(), "not tested this epoch");
        assertEquals(Map.of("p0.100", new TestErrors(3, 12.5, 1.5)), read.powerErrs());
        assertEquals(new TestErrors(3, 100.0, 100.0), store.meta(written).errorsOf("ema_p0.050.safetensors"));
        assertEquals(new TestErrors(3, 12.5, 1.5), store.meta(written).errorsOf("ema_p0.100.safetensors"));
        assertTrue(store.describe(written).entryBytes().containsKey("ema_p0.050.safetensors"), "listed with its size");
        store.verify(written);
        try (OutputStream out = fs.create(new Path(written, "ema_p0.050.safetensors"), true)) {
            out.write(new byte[] {1, 2, 3});
        }
        assertTrue(assertThrows(CheckpointException.class, () -> store.verify(written)).getMessage()
                .contains("entry ema_p0.050.safetensors has 3 bytes"), "a damaged power EMA fails verification");

        JsonNode before = store.metaJson(store.commit(plain));
        assertEquals(List.of("model.safetensors", "ema.safetensors", "optimizer.safetensors"), fieldNames(before.path("entries")));
        assertEquals(List.of("format_version", "epoch", "step", "optimizer_steps", "test_err", "test_top5_err", "ema_err",
                "ema_top5_err", "parameters", "written_at", "entries", "config"), fieldNames(before), "meta.json as before");
        assertEquals(0, store.load(new Path("/runs/power/checkpoints/model_epoch_0003"), LAYOUT).emas().powers().size());
    }

    /** OUT_DIR/posthoc/: stores listed oldest first with their t, verified on load; a retried epoch's replaces its store. */
    @Test
    void postHocStoresListLoadAndReplace() throws Exception {
        PostHocStore store = new PostHocStore(fs, new Path("/runs/posthoc"));
        for (int epoch = 0; epoch < 3; epoch++) {
            store.commit(epoch, new EmaBank(state(1), List.of(new EmaBank.Power(0.1, PowerEma.gamma(0.1), state(10 + epoch)),
                    new EmaBank.Power(0.25, PowerEma.gamma(0.25), state(20 + epoch))), 5L * (epoch + 1)));
        }
        store.commit(1, new EmaBank(state(1), List.of(new EmaBank.Power(0.1, PowerEma.gamma(0.1), state(31)),
                new EmaBank.Power(0.25, PowerEma.gamma(0.25), state(32))), 10)); // epoch 2 retried
        List<PostHocStore.Stored> stored = store.list();
        assertEquals(List.of("p0.100@5", "p0.250@5", "p0.100@10", "p0.250@10", "p0.100@15", "p0.250@15"),
                stored.stream().map(s -> s.name() + "@" + s.updates()).toList());
        assertEquals(state(31), store.load(stored.get(2), LAYOUT), "the retried epoch's store");
        assertEquals(PowerEma.gamma(0.25), stored.get(5).gamma());
        try (OutputStream out = fs.create(new Path(stored.get(4).folder(), stored.get(4).entry()), true)) {
            out.write(new byte[] {9});
        }
        assertThrows(CheckpointException.class, () -> store.load(stored.get(4), LAYOUT), "a damaged store is not loaded");

        Path rebuilt = store.writeReconstruction("r0.070", state(40), new ObjectMapper().createObjectNode().put("sigma_rel", 0.07),
                "OPTIM:\n  MAX_EPOCH: 3\n");
        assertEquals("/runs/posthoc/posthoc/reconstructed_r0.070", rebuilt.toUri().getPath());
        CheckpointStore reader = new CheckpointStore(fs, new Path("/runs/posthoc"));
        assertEquals(state(40), reader.loadState(rebuilt, CheckpointStore.EMA, LAYOUT), "read as any checkpoint's EMA entry");
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** The entries are standard safetensors: 8-byte header length, JSON header, little-endian data. */
    @Test
    void entriesAreSafetensorsWithPyclsNames() throws Exception {
        CheckpointStore store = new CheckpointStore(fs, new Path("/runs/format"));
        Path written = store.commit(checkpoint(0));
        byte[] bytes;
        try (InputStream in = fs.open(new Path(written, "ema.safetensors"))) {
            bytes = in.readAllBytes();
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = (int) buffer.getLong();
        JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, headerLength, StandardCharsets.UTF_8));
        JsonNode fc = header.path("head.fc.weight");
        assertEquals("F32", fc.path("dtype").asText());
        assertEquals("[10,4]", fc.path("shape").toString());
        assertEquals("I64", header.path("stem.bn.num_batches_tracked").path("dtype").asText());
        int start = 8 + headerLength + fc.path("data_offsets").get(0).asInt();
        assertEquals(state(50).tensor("head.fc.weight")[3], ByteBuffer.wrap(bytes, start, 40).order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer().get(3));
    }

    @Test
    void aCheckpointWithoutEmaLoadsTheModelIntoTheEma() throws Exception {
        Path dir = new Path("/runs/no-ema/checkpoints/model_epoch_0001");
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        SafetensorsCodec.writeState(model, state(3));
        ByteArrayOutputStream optimizer = new ByteArrayOutputStream();
        SafetensorsCodec.writeMomentum(optimizer, LAYOUT, new float[LAYOUT.gradientCount()]);
        writeCheckpoint(dir, "model.safetensors", model.toByteArray(), "optimizer.safetensors", optimizer.toByteArray());
        Checkpoint read = new CheckpointStore(fs, new Path("/runs/no-ema")).loadLatest(LAYOUT).orElseThrow();
        assertEquals(state(3), read.model());
        assertEquals(state(3), read.ema(), "pycls: no ema_state -> the model state is the EMA");
        assertEquals(100.0, read.emaErr(), "missing errors count as 100");
    }

    /** A hand-made checkpoint folder: the given entries and a meta.json listing them with their checksums. */
    private static void writeCheckpoint(Path dir, Object... namesAndBytes) throws Exception {
        fs.mkdirs(dir);
        StringBuilder entries = new StringBuilder();
        for (int i = 0; i < namesAndBytes.length; i += 2) {
            byte[] bytes = (byte[]) namesAndBytes[i + 1];
            try (OutputStream out = fs.create(new Path(dir, (String) namesAndBytes[i]))) {
                out.write(bytes);
            }
            String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
            entries.append(i == 0 ? "" : ",").append("\"").append(namesAndBytes[i]).append("\":{\"bytes\":").append(bytes.length)
                    .append(",\"sha256\":\"").append(sha).append("\"}");
        }
        try (OutputStream out = fs.create(new Path(dir, "meta.json"))) {
            out.write(("{\"format_version\":1,\"epoch\":0,\"entries\":{" + entries + "}}").getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void anyUnreadableNewestCheckpointFallsBackToThePreviousOne() throws Exception {
        Path outDir = new Path("/runs/fallback");
        CheckpointStore store = new CheckpointStore(fs, outDir);
        store.commit(checkpoint(0));
        // No optimizer entry: an error (a resume must not restart SGD's momentum), not zero momentum.
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        SafetensorsCodec.writeState(model, state(1));
        writeCheckpoint(new Path(outDir, "checkpoints/model_epoch_0002"), "model.safetensors", model.toByteArray());
        CheckpointException missing = assertThrows(CheckpointException.class,
                () -> store.load(new Path(outDir, "checkpoints/model_epoch_0002"), LAYOUT));
        assertTrue(missing.getMessage().contains("optimizer.safetensors is missing"), missing.getMessage());
        // meta.json that is not JSON, and an entry whose header is garbage with a matching checksum.
        Path badMeta = new Path(outDir, "checkpoints/model_epoch_0003");
        fs.mkdirs(badMeta);
        try (OutputStream out = fs.create(new Path(badMeta, "meta.json"))) {
            out.write("{\"entries\": [1, 2".getBytes(StandardCharsets.UTF_8));
        }
        byte[] garbage = new byte[64];
        java.util.Arrays.fill(garbage, (byte) 0x7f);
        writeCheckpoint(new Path(outDir, "checkpoints/model_epoch_0004"), "model.safetensors", garbage,
                "ema.safetensors", garbage, "optimizer.safetensors", garbage);
        assertEquals(0, store.loadLatest(LAYOUT).orElseThrow().epoch(), "each newer one is reported and skipped");
    }

    /** What `Checkpoints list` prints: errors, sizes, and a damaged checkpoint named with its reason, not an exception. */
    @Test
    void describeReportsErrorsSizesAndWhyACheckpointDoesNotVerify() throws Exception {
        CheckpointStore store = new CheckpointStore(fs, new Path("/runs/describe"));
        Path good = store.commit(withErrors(0, 40, 30));
        new BestCheckpoint(fs, store.directory()).update(good, 0, 40, 30);
        Path damaged = store.commit(withErrors(1, 20, 10));
        try (OutputStream out = fs.create(new Path(damaged, CheckpointStore.EMA), true)) {
            out.write(new byte[] {1, 2, 3});
        }
        CheckpointInfo ok = store.describe(good);
        assertTrue(ok.verifies());
        assertEquals(0, ok.meta().epoch());
        assertEquals(40, ok.meta().testErr());
        assertEquals(30, ok.meta().emaErr());
        assertEquals(3, ok.entryBytes().size());
        assertEquals(fs.getContentSummary(good).getLength() - fs.getFileStatus(new Path(good, CheckpointStore.META)).getLen(),
                ok.bytes());
        CheckpointInfo bad = store.describe(damaged);
        assertTrue(!bad.verifies() && bad.problem().contains("ema.safetensors has 3 bytes"), bad.problem());
        CheckpointInfo best = store.describe(new Path(store.directory(), "best"));
        assertTrue(best.verifies());
        assertEquals(-1, best.meta().step(), "best/ does not record a step");
        CheckpointInfo none = store.describe(new Path(store.directory(), "model_epoch_0099"));
        assertTrue(none.problem().contains("no meta.json"), none.problem());
    }

    /** Inference plans with an entry's checksum; best/ replaced in between is refused, not silently scored. */
    @Test
    void loadStateRefusesAnEntryReplacedSinceItWasPlanned() throws Exception {
        CheckpointStore store = new CheckpointStore(fs, new Path("/runs/pinned"));
        BestCheckpoint best = new BestCheckpoint(fs, store.directory());
        best.update(store.commit(withErrors(0, 40, 30)), 0, 40, 30);
        Path bestDir = best.directory();
        String planned = store.stateSha256(bestDir, CheckpointStore.EMA);
        assertArrayEquals(checkpoint(0).ema().floats(), store.loadState(bestDir, CheckpointStore.EMA, LAYOUT, planned).floats());
        best.update(store.commit(withErrors(1, 20, 10)), 1, 20, 10);
        CheckpointException changed = assertThrows(CheckpointException.class,
                () -> store.loadState(bestDir, CheckpointStore.EMA, LAYOUT, planned));
        assertTrue(changed.getMessage().contains("changed since the job started"), changed.getMessage());
    }

    @Test
    void halfWrittenAndCorruptCheckpointsAreNeverPickedForResume() throws Exception {
        Path outDir = new Path("/runs/crash");
        CheckpointStore store = new CheckpointStore(fs, outDir);
        store.commit(checkpoint(0));
        store.commit(checkpoint(1));
        // a writer that died before its rename: a temporary folder with part of the entries
        Path temp = new Path(outDir, "checkpoints/.model_epoch_0003.tmp-dead");
        fs.mkdirs(temp);
        try (OutputStream out = fs.create(new Path(temp, "model.safetensors"))) {
            out.write(new byte[] {1, 2, 3});
        }
        // a committed-looking folder without meta.json, and one whose entry was damaged afterwards
        fs.mkdirs(new Path(outDir, "checkpoints/model_epoch_0004"));
        Path damaged = store.commit(checkpoint(4));
        try (OutputStream out = fs.create(new Path(damaged, "ema.safetensors"), true)) {
            out.write(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        }
        assertEquals(4, store.committed().size());
        Checkpoint latest = store.loadLatest(LAYOUT).orElseThrow();
        assertEquals(1, latest.epoch(), "epoch 5 fails its checksum, epoch 4 has no meta.json, epoch 3 never committed");
        CheckpointException e = assertThrows(CheckpointException.class, () -> store.load(damaged, LAYOUT));
        assertTrue(e.getMessage().contains("ema.safetensors"), e.getMessage());
        assertEquals(1, store.recoverInterrupted());
        assertTrue(!fs.exists(temp));
    }

    private static Checkpoint withErrors(int epoch, double modelErr, double emaErr) {
        Checkpoint c = checkpoint(epoch);
        return new Checkpoint(epoch, c.step(), c.model(), c.ema(), c.optimizer(), modelErr, 1.0, emaErr, 2.0, c.configYaml());
    }

    /** pycls's best: model and EMA each from the epoch where their own error was lowest. */
    @Test
    void bestKeepsModelAndEmaFromTheirOwnBestEpochs() throws Exception {
        CheckpointStore store = new CheckpointStore(fs, new Path("/runs/best"));
        BestCheckpoint best = new BestCheckpoint(fs, store.directory());
        assertEquals(List.of("model", "ema"), best.update(store.commit(withErrors(0, 50, 60)), 0, 50, 60));
        assertEquals(List.of("model"), best.update(store.commit(withErrors(1, 40, 65)), 1, 40, 65));
        assertEquals(List.of("ema"), best.update(store.commit(withErrors(2, 45, 55)), 2, 45, 55));
        assertEquals(List.of(), best.update(store.commit(withErrors(3, 40, 55)), 3, 40, 55), "ties do not replace");
        Checkpoint read = store.loadWeights(best.directory(), LAYOUT);
        assertEquals(state(1), read.model(), "model of epoch 2 (index 1)");
        assertEquals(state(52), read.ema(), "EMA of epoch 3 (index 2)");
        assertEquals(40.0, read.testErr());
        assertEquals(55.0, read.emaErr());
        assertEquals(4, store.committed().size(), "best is not a resumable epoch checkpoint");

        // a swap cut short after moving the old best aside: the restarted job puts it back
        assertTrue(fs.rename(best.directory(), new Path(store.directory(), ".best.old-crashed")));
        assertEquals(1, store.recoverInterrupted());
        assertEquals(List.of(), best.update(store.commit(withErrors(4, 70, 70)), 4, 70, 70));
        assertEquals(state(52), store.loadWeights(best.directory(), LAYOUT).ema());
    }

    /** Each power EMA in best/ comes from its own best epoch, independently of the model, pycls's EMA and the other powers. */
    @Test
    void bestKeepsEachPowerEmaFromItsOwnBestEpoch() throws Exception {
        CheckpointStore store = new CheckpointStore(fs, new Path("/runs/best-powers"));
        BestCheckpoint best = new BestCheckpoint(fs, store.directory());
        assertEquals(List.of("model", "ema", "ema p0.050", "ema p0.100"), best.update(store.commit(withPowers(0, 30, 20)), 0, 50, 60,
                errs(0, 30, 20)));
        assertEquals(List.of("ema p0.100"), best.update(store.commit(withPowers(1, 35, 15)), 1, 55, 65, errs(1, 35, 15)));
        assertEquals(List.of("ema p0.050"), best.update(store.commit(withPowers(2, 25, 15)), 2, 55, 65, errs(2, 25, 15)));
        assertEquals(List.of(), best.update(store.commit(withPowers(3, 25, 25)), 3, 55, 65, Map.of()), "untested powers keep theirs");
        CheckpointMeta meta = store.meta(best.directory());
        assertEquals(new TestErrors(2, 25.0, 2.5), meta.errorsOf(CheckpointStore.powerEntry("p0.050")));
        assertEquals(new TestErrors(1, 15.0, 1.5), meta.errorsOf(CheckpointStore.powerEntry("p0.100")));
        assertEquals(0, meta.emaEpoch(), "pycls's EMA of its own best epoch");
        assertEquals(state(82), store.loadState(best.directory(), CheckpointStore.powerEntry("p0.050"), LAYOUT));
        assertEquals(state(91), store.loadState(best.directory(), CheckpointStore.powerEntry("p0.100"), LAYOUT));
        store.verify(best.directory());
        CheckpointException none = assertThrows(CheckpointException.class,
                () -> store.loadState(best.directory(), CheckpointStore.powerEntry("p0.070"), LAYOUT));
        assertTrue(none.getMessage().endsWith("has no ema_p0.070.safetensors (its power EMAs: p0.050, p0.100)"), none.getMessage());
    }

    /** Epoch {@code epoch}'s checkpoint with power EMAs p0.050 (state 80 + epoch) and p0.100 (state 90 + epoch) and their errors. */
    private static Checkpoint withPowers(int epoch, double err05, double err10) {
        Checkpoint c = checkpoint(epoch);
        EmaBank emas = new EmaBank(c.ema(), List.of(new EmaBank.Power(0.05, PowerEma.gamma(0.05), state(80 + epoch)),
                new EmaBank.Power(0.10, PowerEma.gamma(0.10), state(90 + epoch))), 10L * (epoch + 1));
        return new Checkpoint(epoch, c.step(), c.model(), emas, c.optimizer(), 50, 1.0, 60, 2.0, c.configYaml(), List.of(),
                errs(epoch, err05, err10));
    }

    private static Map<String, TestErrors> errs(int epoch, double err05, double err10) {
        Map<String, TestErrors> errs = new java.util.LinkedHashMap<>();
        errs.put("p0.050", new TestErrors(epoch, err05, err05 / 10));
        errs.put("p0.100", new TestErrors(epoch, err10, err10 / 10));
        return errs;
    }

    @Test
    void aModelOfAnotherShapeIsRefusedByName() throws Exception {
        CheckpointStore store = new CheckpointStore(fs, new Path("/runs/shape"));
        Path written = store.commit(checkpoint(0));
        StateLayout other = new StateLayout(List.of(
                new TensorSpec("stem.conv.weight", new long[] {8, 3, 3, 3}, false, true, Role.CONV_WEIGHT)));
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> store.load(written, other));
        assertTrue(e.getMessage().contains("stem.conv.weight has shape"), e.getMessage());
    }

    /**
     * The writer dies before each step of committing a checkpoint and updating best in turn, for a new
     * epoch and for a retried one: the restarted job always finds the previous state or the new one,
     * whole, and never loses the checkpoint or best it had.
     */
    @Test
    void aCrashBeforeAnyStepOfACommitLeavesAWholeCheckpointAndBest() throws Exception {
        for (boolean retried : new boolean[] {false, true}) {
            for (int crashAt = 1; ; crashAt++) {
                Path outDir = new Path("/runs/commit-crash-" + retried + "-" + crashAt);
                CheckpointStore store = new CheckpointStore(fs, outDir);
                new BestCheckpoint(fs, store.directory()).update(store.commit(withErrors(0, 50, 50)), 0, 50, 50);
                int epoch = retried ? 0 : 1;
                ai.emaspark.fs.CrashingFileSystem dying = new ai.emaspark.fs.CrashingFileSystem(fs, crashAt);
                try {
                    CheckpointStore writer = new CheckpointStore(dying, outDir);
                    new BestCheckpoint(dying, writer.directory()).update(writer.commit(withErrors(epoch, 10, 10)), epoch, 10, 10);
                } catch (java.io.IOException e) {
                    assertTrue(dying.crashed(), "only the injected crash may fail it: " + e);
                }
                store.recoverInterrupted();
                Checkpoint latest = store.loadLatest(LAYOUT).orElseThrow();
                assertTrue(latest.epoch() == 0 || latest.epoch() == epoch, "crash at step " + crashAt);
                if (retried) {
                    assertEquals(1, store.committed().size());
                }
                Checkpoint best = store.loadWeights(new Path(store.directory(), "best"), LAYOUT);
                assertTrue(best.testErr() == 50 || best.testErr() == 10, "best is whole after a crash at step " + crashAt);
                for (org.apache.hadoop.fs.FileStatus left : fs.listStatus(store.directory())) {
                    assertTrue(!left.getPath().getName().startsWith("."), "left behind: " + left.getPath());
                }
                if (!dying.crashed()) {
                    assertEquals(epoch, latest.epoch());
                    assertEquals(10, best.testErr());
                    assertTrue(crashAt > 5, "the commit has steps to crash in: " + dying.steps());
                    break;
                }
            }
        }
    }

    /** A commit step fails but the writer lives (quota, lease): it cleans up after itself at once. */
    @Test
    void aFailedCommitLeavesNoTemporaryFolderAndTheOldStateWhole() throws Exception {
        for (int failAt = 1; ; failAt++) {
            Path outDir = new Path("/runs/commit-fail-" + failAt);
            CheckpointStore store = new CheckpointStore(fs, outDir);
            new BestCheckpoint(fs, store.directory()).update(store.commit(withErrors(0, 50, 50)), 0, 50, 50);
            ai.emaspark.fs.CrashingFileSystem failing = new ai.emaspark.fs.CrashingFileSystem(fs, failAt, true);
            try {
                CheckpointStore writer = new CheckpointStore(failing, outDir);
                new BestCheckpoint(failing, writer.directory()).update(writer.commit(withErrors(1, 10, 10)), 1, 10, 10);
            } catch (java.io.IOException e) {
                assertTrue(failing.crashed(), "only the injected failure may fail it: " + e);
            }
            for (org.apache.hadoop.fs.FileStatus left : fs.listStatus(store.directory())) {
                assertTrue(!left.getPath().getName().startsWith(".") || left.getPath().getName().contains(".old-"),
                        "a temporary folder left behind after a failure at step " + failAt + ": " + left.getPath());
            }
            assertTrue(fs.exists(new Path(store.directory(), "best")), "best is in place after a failure at step " + failAt);
            store.recoverInterrupted();
            assertTrue(store.loadLatest(LAYOUT).orElseThrow().epoch() <= 1);
            Checkpoint best = store.loadWeights(new Path(store.directory(), "best"), LAYOUT);
            assertTrue(best.testErr() == 50 || best.testErr() == 10, "best is whole after a failure at step " + failAt);
            if (!failing.crashed()) {
                break;
            }
        }
    }

    @Test
    void keepCheckpointsPrunesTheOldestButNeverTheNewestThatVerifies() throws Exception {
        CheckpointStore store = new CheckpointStore(fs, new Path("/runs/keep"));
        for (int epoch = 0; epoch < 5; epoch++) {
            store.commit(checkpoint(epoch));
        }
        assertEquals(List.of(), store.prune(0), "0 keeps all");
        List<Path> removed = store.prune(3);
        assertEquals(List.of("model_epoch_0001", "model_epoch_0002"), removed.stream().map(Path::getName).toList());
        assertEquals(List.of("model_epoch_0003", "model_epoch_0004", "model_epoch_0005"),
                store.committed().stream().map(Path::getName).toList());
        // The two newest are damaged: the newest that verifies (epoch 3) stays even beyond the newest 2.
        for (String name : List.of("model_epoch_0004", "model_epoch_0005")) {
            try (OutputStream out = fs.create(new Path(store.directory(), name + "/model.safetensors"), true)) {
                out.write(new byte[] {1});
            }
        }
        assertEquals(List.of(), store.prune(2), "model_epoch_0003 is the newest that verifies");
        assertEquals(3, store.committed().size());
        assertEquals(2, store.loadLatest(LAYOUT).orElseThrow().epoch());
    }

    @Test
    void anOwnerThatStalledPastTheSilenceAndWasTakenOverWritesNothingMoreAndLeavesTheSuccessorsLock() throws Exception {
        Path dir = new Path(fs.getUri() + "/runs/stalled-owner");
        org.apache.hadoop.conf.Configuration conf = fs.getConf();
        java.time.Duration heldBack = java.time.Duration.ofHours(1); // the owner's heartbeat never comes: a stalled driver
        java.time.Duration silence = java.time.Duration.ofSeconds(2);
        HdfsLease stalled = HdfsLease.acquire(conf, dir, "the stalled owner", heldBack, silence);
        CheckpointStore store = new CheckpointStore(fs, dir, stalled);
        Path first = store.commit(checkpoint(0)); // still held: written
        store.commit(checkpoint(1));
        try (HdfsLease successor = HdfsLease.acquire(conf, dir, "the successor", java.time.Duration.ofSeconds(1), silence)) {
            RunLock.LostException lost = assertThrows(RunLock.LostException.class, () -> store.commit(checkpoint(2)));
            assertTrue(lost.getMessage().startsWith("this run lost the lock "), lost.getMessage());
            assertThrows(java.io.IOException.class, () -> store.best().update(first, 0, 10.0, 10.0));
            assertThrows(java.io.IOException.class, () -> store.prune(1));
            assertEquals(List.of("model_epoch_0001", "model_epoch_0002"), names(fs.listStatus(new Path(dir, "checkpoints"))),
                    "no commit, no best/, no pruning, no temporary folder after the takeover");
            stalled.close();
            assertTrue(fs.exists(new Path(dir, RunLock.FILE)), "the successor's lock is left in place");
            successor.confirm();
            try (InputStream in = fs.open(new Path(dir, RunLock.FILE))) {
                assertEquals("the successor", LockFile.owner(new String(in.readAllBytes(), StandardCharsets.UTF_8)).split(" on ")[0]);
            }
        }
    }

    private static List<String> names(org.apache.hadoop.fs.FileStatus[] statuses) {
        return java.util.Arrays.stream(statuses).map(s -> s.getPath().getName()).sorted().toList();
    }
}
