package ai.emaspark.checkpoint;

import ai.emaspark.ema.EmaBank;
import ai.emaspark.fs.Replace;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.train.OptimizerState;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Checkpoint directories under {@code OUT_DIR/checkpoints} on any Hadoop FileSystem. A checkpoint is
 * written into a hidden temporary directory and moved into place (a retried epoch's replaces the old
 * one without a moment where neither exists), so a reader sees all of it or nothing; {@code meta.json}
 * records each entry's size and SHA-256, and a checkpoint that fails them, or fails to load in any
 * way, is reported and skipped, never loaded. {@link #prune} keeps the newest N.
 */
public final class CheckpointStore {
    public static final int FORMAT_VERSION = 1;
    public static final String MODEL = "model.safetensors";
    public static final String EMA = "ema.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String META = "meta.json";

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);
    private static final Pattern NAME = Pattern.compile("model_epoch_(\\d{4,})");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FileSystem fs;
    private final Path dir;
    private final OwnershipCheck owner;

    /** A reader's view of OUT_DIR's checkpoints (it may still commit and prune: tests and tools own their folders). */
    public CheckpointStore(FileSystem fs, Path outDir) {
        this(fs, outDir, OwnershipCheck.READER);
    }

    /** The writing run's: {@code owner} is confirmed right before every commit, best/ update and deletion. */
    public CheckpointStore(FileSystem fs, Path outDir, OwnershipCheck owner) {
        this.fs = fs;
        this.dir = new Path(outDir, "checkpoints");
        this.owner = owner;
    }

    /** best/ of these checkpoints, updated under the same ownership check. */
    public BestCheckpoint best() {
        return new BestCheckpoint(fs, dir, owner);
    }

    public FileSystem fileSystem() {
        return fs;
    }

    public Path directory() {
        return dir;
    }

    /** Writes and commits a checkpoint; returns its directory. An existing one of that epoch is replaced. */
    public Path commit(Checkpoint checkpoint) throws IOException {
        fs.mkdirs(dir);
        Path target = new Path(dir, Checkpoint.directoryName(checkpoint.epoch()));
        Path temp = new Path(dir, "." + target.getName() + ".tmp-" + UUID.randomUUID());
        try {
            fs.mkdirs(temp);
            ObjectNode entries = JSON.createObjectNode();
            StateLayout layout = checkpoint.model().layout();
            writeEntry(temp, MODEL, entries, out -> SafetensorsCodec.writeState(out, checkpoint.model()));
            writeEntry(temp, EMA, entries, out -> SafetensorsCodec.writeState(out, checkpoint.ema()));
            writeEntry(temp, OPTIMIZER, entries, out -> SafetensorsCodec.writeMomentum(out, layout, checkpoint.optimizer().momentum()));
            for (EmaBank.Power power : checkpoint.emas().powers()) {
                writeEntry(temp, powerEntry(power.name()), entries, out -> SafetensorsCodec.writeState(out, power.state()));
            }
            try (OutputStream out = fs.create(new Path(temp, META), false)) {
                out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta(checkpoint, entries)));
            }
            owner.confirm(); // a run that lost OUT_DIR commits nothing
            Replace.replace(fs, temp, target); // a retried epoch's checkpoint supersedes the old one
            return target;
        } catch (IOException | RuntimeException e) {
            Replace.discard(fs, temp); // a failed commit leaves no checkpoint-sized folder behind
            throw e;
        }
    }

    private void writeEntry(Path temp, String name, ObjectNode entries, EntryFiles.Writer writer) throws IOException {
        EntryFiles.write(fs, temp, name, entries, writer);
    }

    private static ObjectNode meta(Checkpoint checkpoint, ObjectNode entries) {
        ObjectNode meta = JSON.createObjectNode();
        meta.put("format_version", FORMAT_VERSION);
        meta.put("epoch", checkpoint.epoch());
        meta.put("step", checkpoint.step());
        meta.put("optimizer_steps", checkpoint.optimizer().steps());
        meta.put("test_err", checkpoint.testErr());
        meta.put("test_top5_err", checkpoint.testTop5Err());
        meta.put("ema_err", checkpoint.emaErr());
        meta.put("ema_top5_err", checkpoint.emaTop5Err());
        meta.put("parameters", checkpoint.model().layout().parameterCount());
        meta.put("written_at", Instant.now().toString());
        meta.set("entries", entries);
        meta.put("config", checkpoint.configYaml());
        if (!checkpoint.emas().powers().isEmpty()) { // absent without EMA.POWER_SIGMA_RELS: meta.json as before them
            ObjectNode powers = meta.putObject("power_emas");
            powers.put("updates", checkpoint.emas().updates());
            ArrayNode profiles = powers.putArray("profiles");
            for (EmaBank.Power power : checkpoint.emas().powers()) {
                ObjectNode profile = profiles.addObject().put("name", power.name()).put("sigma_rel", power.sigmaRel())
                        .put("gamma", power.gamma()).put("entry", powerEntry(power.name()));
                TestErrors errs = checkpoint.powerErrs().get(power.name());
                if (errs != null) { // tested this epoch (EMA.EVAL_PERIOD)
                    profile.put("err", errs.top1()).put("top5_err", errs.top5());
                }
            }
        }
        if (!checkpoint.numGpusChanges().isEmpty()) {
            ArrayNode changes = meta.putArray("num_gpus_changes");
            for (NumGpusChange change : checkpoint.numGpusChanges()) {
                changes.addObject().put("from_epoch", change.epoch() + 1).put("num_gpus_before", change.from())
                        .put("num_gpus", change.to());
            }
        }
        return meta;
    }

    /** Committed checkpoint directories, oldest first. */
    public List<Path> committed() throws IOException {
        List<Path> found = new ArrayList<>();
        if (!fs.exists(dir)) {
            return found;
        }
        for (FileStatus status : fs.listStatus(dir)) {
            if (status.isDirectory() && NAME.matcher(status.getPath().getName()).matches()) {
                found.add(status.getPath());
            }
        }
        found.sort((a, b) -> Integer.compare(number(a), number(b)));
        return found;
    }

    private static int number(Path path) {
        Matcher matcher = NAME.matcher(path.getName());
        return matcher.matches() ? Integer.parseInt(matcher.group(1)) : -1;
    }

    /**
     * The newest checkpoint that loads and verifies. One that does not, for any reason (a checksum, a
     * shape, a parse error, a missing entry, an I/O error), is reported and the previous one is tried.
     */
    public Optional<Checkpoint> loadLatest(StateLayout layout) throws IOException {
        List<Path> candidates = committed();
        for (int i = candidates.size() - 1; i >= 0; i--) {
            try {
                return Optional.of(load(candidates.get(i), layout));
            } catch (IOException | RuntimeException e) {
                LOG.warn("skipping checkpoint {}: {}", candidates.get(i), e.getMessage() == null ? e.toString() : e.getMessage());
            }
        }
        return Optional.empty();
    }

    /**
     * Keeps the newest {@code keep} committed checkpoints and deletes the older ones; never the newest
     * one that verifies, even if it is older. {@code keep} 0 keeps all. best/ is never touched.
     * Returns the deleted directories.
     */
    public List<Path> prune(int keep) throws IOException {
        List<Path> committed = committed();
        List<Path> deleted = new ArrayList<>();
        if (keep <= 0 || committed.size() <= keep) {
            return deleted;
        }
        Path newestVerified = newestVerified(committed).orElse(null);
        for (Path old : committed.subList(0, committed.size() - keep)) {
            if (!old.equals(newestVerified)) {
                owner.confirm();
                fs.delete(old, true);
                deleted.add(old);
            }
        }
        return deleted;
    }

    /** The newest committed checkpoint whose entries match meta.json (a reader that needs no optimizer state). */
    public Optional<Path> newestVerified() throws IOException {
        return newestVerified(committed());
    }

    private Optional<Path> newestVerified(List<Path> committed) {
        for (int i = committed.size() - 1; i >= 0; i--) {
            try {
                verify(committed.get(i));
                return Optional.of(committed.get(i));
            } catch (IOException | RuntimeException e) {
                LOG.warn("checkpoint {} does not verify ({}); trying an older one", committed.get(i), e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Checks every entry meta.json lists against its size and SHA-256, without decoding. */
    public void verify(Path checkpointDir) throws IOException {
        JsonNode entries = readMeta(checkpointDir).path("entries");
        for (java.util.Iterator<String> names = entries.fieldNames(); names.hasNext(); ) {
            verified(checkpointDir, names.next(), entries);
        }
    }

    /** The entry of the power EMA named {@code name} (EmaBank.Power#name), e.g. ema_p0.050.safetensors. */
    public static String powerEntry(String name) {
        return "ema_" + name + ".safetensors";
    }

    /** The power EMA's name of an entry {@link #powerEntry} named: p0.050 of ema_p0.050.safetensors; null for any other. */
    public static String powerName(String entry) {
        return entry.startsWith("ema_p") && entry.endsWith(".safetensors")
                ? entry.substring("ema_".length(), entry.length() - ".safetensors".length()) : null;
    }

    /**
     * One checkpoint folder (model_epoch_NNNN or best/) as a listing shows it: meta.json's fields, the
     * entries' sizes, and the verification's verdict. Never fails on a damaged checkpoint: says why.
     */
    public CheckpointInfo describe(Path checkpointDir) throws IOException {
        java.util.Map<String, Long> sizes = new java.util.LinkedHashMap<>();
        for (String name : List.of(MODEL, EMA, OPTIMIZER)) {
            Path entry = new Path(checkpointDir, name);
            if (fs.exists(entry)) {
                sizes.put(name, fs.getFileStatus(entry).getLen());
            }
        }
        if (fs.exists(checkpointDir)) {
            for (FileStatus entry : fs.listStatus(checkpointDir, p -> p.getName().startsWith("ema_p") && p.getName().endsWith(".safetensors"))) {
                sizes.put(entry.getPath().getName(), entry.getLen());
            }
        }
        CheckpointMeta meta;
        try {
            meta = meta(checkpointDir);
        } catch (CheckpointException e) {
            return new CheckpointInfo(checkpointDir.getName(), null, sizes, e.getMessage());
        }
        String problem = null;
        try {
            verify(checkpointDir);
            if (!metaJson(checkpointDir).path("entries").has(MODEL)) {
                problem = META + " lists no " + MODEL;
            }
        } catch (CheckpointException e) {
            problem = e.getMessage();
        }
        return new CheckpointInfo(checkpointDir.getName(), meta, sizes, problem);
    }

    /** meta.json of a checkpoint folder as it is (entries, checksums, config), for tools that show it. */
    public JsonNode metaJson(Path checkpointDir) throws IOException {
        return readMeta(checkpointDir);
    }

    private JsonNode readMeta(Path checkpointDir) throws IOException {
        Path metaPath = new Path(checkpointDir, META);
        if (!fs.exists(metaPath)) {
            throw new CheckpointException("no " + META + " (not a committed checkpoint)");
        }
        try (InputStream in = fs.open(metaPath)) {
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new CheckpointException(META + " is unreadable: " + e.getMessage(), e);
        }
    }

    /**
     * Loads and verifies one checkpoint directory to resume from: model, EMA and optimizer. Without an
     * EMA entry, the model state is the EMA (pycls); without an optimizer entry it is an error, not
     * zero momentum: a resume must continue the run, not restart SGD.
     */
    public Checkpoint load(Path checkpointDir, StateLayout layout) throws IOException {
        return load(checkpointDir, layout, true);
    }

    /** Loads and verifies the weights of a checkpoint (e.g. best/, which has no optimizer entry). */
    public Checkpoint loadWeights(Path checkpointDir, StateLayout layout) throws IOException {
        return load(checkpointDir, layout, false);
    }

    private Checkpoint load(Path checkpointDir, StateLayout layout, boolean withOptimizer) throws IOException {
        JsonNode meta = readMeta(checkpointDir);
        JsonNode entries = meta.path("entries");
        ModelState model = readState(checkpointDir, MODEL, entries, layout);
        ModelState ema = hasEma(checkpointDir, entries) ? readState(checkpointDir, EMA, entries, layout) : model.copy();
        List<EmaBank.Power> powers = new ArrayList<>();
        for (JsonNode profile : meta.path("power_emas").path("profiles")) {
            powers.add(new EmaBank.Power(profile.path("sigma_rel").asDouble(), profile.path("gamma").asDouble(),
                    readState(checkpointDir, profile.path("entry").asText(), entries, layout)));
        }
        EmaBank emas = new EmaBank(ema, powers, meta.path("power_emas").path("updates").asLong(0));
        OptimizerState optimizer = withOptimizer || entries.has(OPTIMIZER)
                ? new OptimizerState(SafetensorsCodec.readMomentum(new java.io.ByteArrayInputStream(
                        verified(checkpointDir, OPTIMIZER, entries)), layout, checkpointDir + "/" + OPTIMIZER),
                        meta.path("optimizer_steps").asLong(1))
                : OptimizerState.fresh(layout.gradientCount());
        CheckpointMeta fields = CheckpointMeta.of(meta);
        List<NumGpusChange> changes = new ArrayList<>();
        for (JsonNode change : meta.path("num_gpus_changes")) {
            changes.add(new NumGpusChange(change.path("from_epoch").asInt() - 1, change.path("num_gpus_before").asInt(),
                    change.path("num_gpus").asInt()));
        }
        return new Checkpoint(fields.epoch(), fields.step(), model, emas, optimizer, fields.testErr(), fields.testTop5Err(),
                fields.emaErr(), fields.emaTop5Err(), fields.configYaml(), List.copyOf(changes), testedPowers(fields));
    }

    /** A checkpoint's meta.json: errors and the config it was trained with, read before any entry. */
    public CheckpointMeta meta(Path checkpointDir) throws IOException {
        return CheckpointMeta.of(readMeta(checkpointDir));
    }

    /**
     * One verified weights entry ({@link #MODEL} or {@link #EMA}) of any checkpoint directory, nothing
     * else read: what inference needs. Without an EMA entry the model's state is the EMA, as in {@link #load}.
     */
    public ModelState loadState(Path checkpointDir, String entry, StateLayout layout) throws IOException {
        return loadState(checkpointDir, entry, layout, null);
    }

    /**
     * {@link #loadState(Path, String, StateLayout)}, refusing a checkpoint whose entry is no longer the one
     * with {@code expectedSha256} (best/ replaced by a run still training, between planning and loading).
     */
    public ModelState loadState(Path checkpointDir, String entry, StateLayout layout, String expectedSha256) throws IOException {
        JsonNode entries = readMeta(checkpointDir).path("entries");
        String name = stateEntry(checkpointDir, entry, entries);
        if (expectedSha256 != null && !expectedSha256.equals(entries.path(name).path("sha256").asText())) {
            throw new CheckpointException(checkpointDir + " changed since the job started (its " + name
                    + " was replaced, e.g. by a run still training): score it again");
        }
        return readState(checkpointDir, name, entries, layout);
    }

    /** The SHA-256 meta.json gives for what {@link #loadState} would read of {@code entry}. */
    public String stateSha256(Path checkpointDir, String entry) throws IOException {
        JsonNode entries = readMeta(checkpointDir).path("entries");
        return entries.path(stateEntry(checkpointDir, entry, entries)).path("sha256").asText();
    }

    /** The power EMAs a checkpoint records errors for: those its epoch tested. */
    private static Map<String, TestErrors> testedPowers(CheckpointMeta fields) {
        Map<String, TestErrors> tested = new java.util.LinkedHashMap<>();
        fields.powers().forEach((name, errs) -> {
            if (errs.top1() < 100.0) {
                tested.put(name, errs);
            }
        });
        return tested;
    }

    private String stateEntry(Path checkpointDir, String entry, JsonNode entries) throws IOException {
        if (powerName(entry) != null) {
            if (!entries.has(entry)) {
                throw new CheckpointException(checkpointDir + " has no " + entry + " (its power EMAs: "
                        + String.join(", ", CheckpointMeta.of(readMeta(checkpointDir)).powers().keySet()) + ")");
            }
            return entry;
        }
        if (!entry.equals(MODEL) && !entry.equals(EMA)) {
            throw new IllegalArgumentException("not a weights entry: " + entry);
        }
        return entry.equals(EMA) && !hasEma(checkpointDir, entries) ? MODEL : entry;
    }

    private boolean hasEma(Path checkpointDir, JsonNode entries) throws IOException {
        return entries.has(EMA) || fs.exists(new Path(checkpointDir, EMA));
    }

    private ModelState readState(Path checkpointDir, String name, JsonNode entries, StateLayout layout) throws IOException {
        return SafetensorsCodec.readState(new java.io.ByteArrayInputStream(verified(checkpointDir, name, entries)), layout,
                checkpointDir + "/" + name);
    }

    /** The bytes of one entry, after checking its size and SHA-256 against meta.json. */
    private byte[] verified(Path checkpointDir, String name, JsonNode entries) throws IOException {
        return EntryFiles.verified(fs, checkpointDir, name, entries);
    }

    /**
     * After a writer died: a checkpoint (or best/) moved aside for its replacement goes back in place if
     * the replacement never arrived; temporary directories of unfinished checkpoints are removed.
     * Returns how many folders were removed or restored.
     */
    public int recoverInterrupted() throws IOException {
        return Replace.recover(fs, dir);
    }
}
