package ai.emaspark.checkpoint;

import ai.emaspark.ema.EmaBank;
import ai.emaspark.fs.Replace;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@code OUT_DIR/posthoc/}: the power EMAs' states stored every EMA.POSTHOC_PERIOD epochs, which
 * post-hoc reconstruction combines, kept whatever TRAIN.KEEP_CHECKPOINTS prunes. Each store is a
 * folder {@code power_ema_NNNN} (after epoch NNNN, pycls numbering) of {@code ema_p<σ_rel>.safetensors}
 * entries and a meta.json with their sizes, SHA-256, widths, exponents and t; written aside and moved
 * into place as checkpoints are. Reconstructions go to {@code reconstructed_r<σ_rel>/ema.safetensors},
 * a folder every checkpoint reader (Predict, ImageClassifier, the notebooks) reads as an EMA entry.
 */
public final class PostHocStore {
    public static final String DIR = "posthoc";
    private static final Pattern NAME = Pattern.compile("power_ema_(\\d{4,})");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One stored power EMA: which run epoch, its width, exponent and t, and where its entry is. */
    public record Stored(int epoch, String name, double sigmaRel, double gamma, long updates, Path folder, String entry) {}

    private final FileSystem fs;
    private final Path dir;
    private final OwnershipCheck owner;

    /** A reader's (and tool's) view of OUT_DIR's post-hoc stores. */
    public PostHocStore(FileSystem fs, Path outDir) {
        this(fs, outDir, OwnershipCheck.READER);
    }

    public PostHocStore(FileSystem fs, Path outDir, OwnershipCheck owner) {
        this.fs = fs;
        this.dir = new Path(outDir, DIR);
        this.owner = owner;
    }

    public Path directory() {
        return dir;
    }

    public static String folderName(int epoch) {
        return String.format("power_ema_%04d", epoch + 1);
    }

    /** Stores the power EMAs of {@code emas} after {@code epoch}; a retried epoch's replaces the old one. */
    public Path commit(int epoch, EmaBank emas) throws IOException {
        fs.mkdirs(dir);
        Path target = new Path(dir, folderName(epoch));
        Path temp = new Path(dir, "." + target.getName() + ".tmp-" + UUID.randomUUID());
        try {
            fs.mkdirs(temp);
            ObjectNode meta = JSON.createObjectNode();
            meta.put("format_version", CheckpointStore.FORMAT_VERSION);
            meta.put("epoch", epoch);
            meta.put("updates", emas.updates());
            ArrayNode profiles = meta.putArray("profiles");
            ObjectNode entries = JSON.createObjectNode();
            for (EmaBank.Power power : emas.powers()) {
                String entry = CheckpointStore.powerEntry(power.name());
                EntryFiles.write(fs, temp, entry, entries, out -> SafetensorsCodec.writeState(out, power.state()));
                profiles.addObject().put("name", power.name()).put("sigma_rel", power.sigmaRel()).put("gamma", power.gamma())
                        .put("entry", entry);
            }
            meta.set("entries", entries);
            writeMeta(temp, meta);
            owner.confirm();
            Replace.replace(fs, temp, target);
            return target;
        } catch (IOException | RuntimeException e) {
            Replace.discard(fs, temp);
            throw e;
        }
    }

    /** Every stored power EMA, oldest store first, in each store's profile order. */
    public List<Stored> list() throws IOException {
        List<Stored> stored = new ArrayList<>();
        if (!fs.exists(dir)) {
            return stored;
        }
        List<Path> folders = new ArrayList<>();
        for (FileStatus status : fs.listStatus(dir)) {
            if (status.isDirectory() && NAME.matcher(status.getPath().getName()).matches()) {
                folders.add(status.getPath());
            }
        }
        folders.sort((a, b) -> a.getName().compareTo(b.getName())); // zero-padded
        for (Path folder : folders) {
            JsonNode meta = readMeta(folder);
            for (JsonNode p : meta.path("profiles")) {
                stored.add(new Stored(meta.path("epoch").asInt(), p.path("name").asText(), p.path("sigma_rel").asDouble(),
                        p.path("gamma").asDouble(), meta.path("updates").asLong(), folder, p.path("entry").asText()));
            }
        }
        return stored;
    }

    /** One stored state, verified against its store's meta.json. */
    public ModelState load(Stored stored, StateLayout layout) throws IOException {
        JsonNode entries = readMeta(stored.folder()).path("entries");
        return SafetensorsCodec.readState(new java.io.ByteArrayInputStream(EntryFiles.verified(fs, stored.folder(), stored.entry(),
                entries)), layout, stored.folder() + "/" + stored.entry());
    }

    /**
     * Writes a reconstruction as {@code reconstructed_r<σ_rel>/ema.safetensors} with a meta.json
     * (entries, pycls's epoch and EMA error fields, and {@code posthoc}: what it was solved from, whose
     * {@code epoch} is the last stored epoch counted from 0); replaces an earlier one of that width.
     */
    public Path writeReconstruction(String name, ModelState state, ObjectNode posthoc, String configYaml) throws IOException {
        fs.mkdirs(dir);
        Path target = new Path(dir, "reconstructed_" + name);
        Path temp = new Path(dir, "." + target.getName() + ".tmp-" + UUID.randomUUID());
        try {
            fs.mkdirs(temp);
            ObjectNode meta = JSON.createObjectNode();
            meta.put("format_version", CheckpointStore.FORMAT_VERSION);
            ObjectNode entries = meta.putObject("entries");
            EntryFiles.write(fs, temp, CheckpointStore.EMA, entries, out -> SafetensorsCodec.writeState(out, state));
            // pycls's fields, so a reader of checkpoints (Predict, ImageClassifier) reports it as any EMA entry
            meta.put("epoch", posthoc.path("epoch").asInt()).put("ema_epoch", posthoc.path("epoch").asInt());
            if (posthoc.has("ema_err")) {
                meta.put("ema_err", posthoc.path("ema_err").asDouble()).put("ema_top5_err", posthoc.path("ema_top5_err").asDouble());
            }
            meta.set("posthoc", posthoc);
            meta.put("config", configYaml);
            writeMeta(temp, meta);
            Replace.replace(fs, temp, target);
            return target;
        } catch (IOException | RuntimeException e) {
            Replace.discard(fs, temp);
            throw e;
        }
    }

    /** After a writer died: a store moved aside goes back; unfinished temporary folders are removed. */
    public int recoverInterrupted() throws IOException {
        return Replace.recover(fs, dir);
    }

    private void writeMeta(Path folder, ObjectNode meta) throws IOException {
        try (OutputStream out = fs.create(new Path(folder, CheckpointStore.META), false)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta));
        }
    }

    private JsonNode readMeta(Path folder) throws IOException {
        try (InputStream in = fs.open(new Path(folder, CheckpointStore.META))) {
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new CheckpointException(folder + "/" + CheckpointStore.META + " is unreadable: " + e.getMessage(), e);
        }
    }
}
