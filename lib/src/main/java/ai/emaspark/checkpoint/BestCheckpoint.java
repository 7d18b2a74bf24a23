package ai.emaspark.checkpoint;

import ai.emaspark.fs.Replace;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;

/**
 * pycls's "best" checkpoint: {@code checkpoints/best/} holds the model state of the model's best
 * epoch and the EMA state of the EMA's best epoch, each replaced only when its own top-1 error
 * strictly improves; so does each power EMA's entry (meta.json's {@code power_emas}: its epoch and error). Built in a temporary folder and put in place by {@link Replace#replace}; a swap
 * cut short is undone by {@link CheckpointStore#recoverInterrupted}, so the previous best is never lost.
 */
public final class BestCheckpoint {
    public static final String NAME = "best";
    /** meta.json's field of each power EMA's best: epoch, err and entry. */
    public static final String POWER_EMAS = "power_ema_best";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FileSystem fs;
    private final Path checkpoints;
    private final Path best;
    private final OwnershipCheck owner;

    public BestCheckpoint(FileSystem fs, Path checkpointsDir) {
        this(fs, checkpointsDir, OwnershipCheck.READER);
    }

    BestCheckpoint(FileSystem fs, Path checkpointsDir, OwnershipCheck owner) {
        this.owner = owner;
        this.fs = fs;
        this.checkpoints = checkpointsDir;
        this.best = new Path(checkpointsDir, NAME);
    }

    public Path directory() {
        return best;
    }

    /**
     * Considers the committed checkpoint {@code committed} (epoch index {@code epoch}); returns which
     * of "model" and "ema" it replaced in best (empty when neither improved).
     */
    public List<String> update(Path committed, int epoch, double modelErr, double emaErr) throws IOException {
        return update(committed, epoch, modelErr, emaErr, Map.of());
    }

    /**
     * {@link #update(Path, int, double, double)}, and each power EMA tested this epoch (its name, e.g.
     * p0.050, and errors), replaced when it improves on its own best; returned as "ema p0.050".
     */
    public List<String> update(Path committed, int epoch, double modelErr, double emaErr, Map<String, TestErrors> powerErrs)
            throws IOException {
        JsonNode old = fs.exists(new Path(best, CheckpointStore.META)) ? readMeta(best) : JSON.createObjectNode();
        List<String> replaced = new ArrayList<>();
        if (modelErr < old.path("test_err").asDouble(100.0)) {
            replaced.add("model");
        }
        if (emaErr < old.path("ema_err").asDouble(100.0)) {
            replaced.add("ema");
        }
        for (Map.Entry<String, TestErrors> power : powerErrs.entrySet()) {
            if (power.getValue().top1() < old.path(POWER_EMAS).path(power.getKey()).path("err").asDouble(100.0)) {
                replaced.add("ema " + power.getKey());
            }
        }
        if (replaced.isEmpty()) {
            return replaced;
        }
        Path temp = new Path(checkpoints, "." + NAME + ".tmp-" + UUID.randomUUID());
        try {
            build(committed, epoch, modelErr, emaErr, powerErrs, old, replaced, temp);
            owner.confirm(); // a run that lost OUT_DIR leaves best/ to the run that took it
            Replace.replace(fs, temp, best);
        } catch (IOException | RuntimeException e) {
            Replace.discard(fs, temp);
            throw e;
        }
        return replaced;
    }

    /** best/'s new content in {@code temp}: the improved states from {@code committed}, the others from the old best. */
    private void build(Path committed, int epoch, double modelErr, double emaErr, Map<String, TestErrors> powerErrs, JsonNode old,
            List<String> replaced, Path temp) throws IOException {
        JsonNode fresh = readMeta(committed);
        fs.mkdirs(temp);
        ObjectNode meta = JSON.createObjectNode();
        meta.put("format_version", CheckpointStore.FORMAT_VERSION);
        ObjectNode entries = meta.putObject("entries");
        boolean newModel = replaced.contains("model");
        boolean newEma = replaced.contains("ema");
        copyEntry(newModel ? committed : best, CheckpointStore.MODEL, newModel ? fresh : old, temp, entries);
        copyEntry(newEma ? committed : best, CheckpointStore.EMA, newEma ? fresh : old, temp, entries);
        meta.put("epoch", newModel ? epoch : old.path("epoch").asInt());
        meta.put("test_err", newModel ? modelErr : old.path("test_err").asDouble());
        meta.put("test_top5_err", (newModel ? fresh : old).path("test_top5_err").asDouble(100.0));
        meta.put("ema_epoch", newEma ? epoch : old.path("ema_epoch").asInt());
        meta.put("ema_err", newEma ? emaErr : old.path("ema_err").asDouble());
        meta.put("ema_top5_err", (newEma ? fresh : old).path("ema_top5_err").asDouble(100.0));
        meta.put("config", fresh.path("config").asText(""));
        java.util.Set<String> powers = new java.util.TreeSet<>(powerErrs.keySet());
        old.path(POWER_EMAS).fieldNames().forEachRemaining(powers::add);
        if (!powers.isEmpty()) { // absent without power EMAs: meta.json as before them
            ObjectNode bestPowers = meta.putObject(POWER_EMAS);
            for (String name : powers) {
                String entry = CheckpointStore.powerEntry(name);
                boolean fresher = replaced.contains("ema " + name);
                copyEntry(fresher ? committed : best, entry, fresher ? fresh : old, temp, entries);
                if (fresher) {
                    bestPowers.putObject(name).put("epoch", epoch).put("err", powerErrs.get(name).top1())
                            .put("top5_err", powerErrs.get(name).top5()).put("entry", entry);
                } else {
                    bestPowers.set(name, old.path(POWER_EMAS).path(name).deepCopy());
                }
            }
        }
        try (OutputStream out = fs.create(new Path(temp, CheckpointStore.META), false)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta));
        }
    }

    private void copyEntry(Path from, String name, JsonNode fromMeta, Path to, ObjectNode entries) throws IOException {
        Path source = new Path(from, name);
        if (!fs.exists(source)) {
            return; // no best of this kind yet
        }
        FileUtil.copy(fs, source, fs, new Path(to, name), false, fs.getConf());
        entries.set(name, fromMeta.path("entries").path(name).deepCopy());
    }

    private JsonNode readMeta(Path checkpointDir) throws IOException {
        try (InputStream in = fs.open(new Path(checkpointDir, CheckpointStore.META))) {
            return JSON.readTree(in);
        }
    }
}
