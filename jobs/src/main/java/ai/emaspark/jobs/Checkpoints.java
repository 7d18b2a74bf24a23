package ai.emaspark.jobs;

import ai.emaspark.checkpoint.BestCheckpoint;
import ai.emaspark.checkpoint.CheckpointInfo;
import ai.emaspark.checkpoint.CheckpointMeta;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.checkpoint.TestErrors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A run's checkpoints, read on any Hadoop file system (no Spark):
 * <pre>
 *   Checkpoints list   OUT_DIR                 epoch, errors of model and EMAs, size, whether each verifies
 *   Checkpoints verify OUT_DIR|CHECKPOINT_DIR  checks every entry's size and SHA-256; exit 1 if one fails
 *   Checkpoints show   CHECKPOINT_DIR          meta.json without the config, then the config
 * </pre>
 * Bad input: one "emaspark: error:" line, exit 2.
 */
public final class Checkpoints {
    private static final String USAGE = "usage: Checkpoints list OUT_DIR | verify OUT_DIR|CHECKPOINT_DIR | show CHECKPOINT_DIR";

    private Checkpoints() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2 || !List.of("list", "verify", "show").contains(args[0])) {
            fail(USAGE);
        }
        Path path = new Path(args[1]);
        FileSystem fs = FileSystem.get(URI.create(args[1]), new Configuration());
        if (!fs.exists(path)) {
            fail(path + " does not exist: give a run's OUT_DIR or one of its checkpoint folders");
        }
        boolean isCheckpoint = fs.exists(new Path(path, CheckpointStore.META));
        CheckpointStore store = new CheckpointStore(fs, isCheckpoint ? path.getParent().getParent() : path);
        switch (args[0]) {
            case "list" -> {
                if (isCheckpoint) {
                    fail(path + " is one checkpoint: list takes the run's OUT_DIR (or use show)");
                }
                print(table(store, folders(store)));
            }
            case "verify" -> {
                List<CheckpointInfo> infos = new ArrayList<>();
                for (Path folder : isCheckpoint ? List.of(path) : folders(store)) {
                    infos.add(store.describe(folder));
                }
                if (infos.isEmpty()) {
                    fail("no checkpoint in " + store.directory());
                }
                for (CheckpointInfo info : infos) {
                    System.out.println(info.name() + ": " + (info.verifies() ? "verifies" : "DOES NOT VERIFY: " + info.problem()));
                }
                long bad = infos.stream().filter(i -> !i.verifies()).count();
                System.out.printf("%d of %d checkpoint(s) verify%n", infos.size() - bad, infos.size());
                System.exit(bad == 0 ? 0 : 1);
            }
            default -> {
                if (!isCheckpoint) {
                    fail(path + " has no " + CheckpointStore.META + ": show takes a checkpoint folder (see list)");
                }
                show(store, path);
            }
        }
    }

    /** The committed checkpoints, oldest first, then best/. */
    private static List<Path> folders(CheckpointStore store) throws IOException {
        List<Path> folders = new ArrayList<>(store.committed());
        Path best = new BestCheckpoint(store.fileSystem(), store.directory()).directory();
        if (store.fileSystem().exists(best)) {
            folders.add(best);
        }
        return folders;
    }

    /** The table of {@code list}: a header, then a row per folder; a column of top-1 error per power EMA when there are any. */
    static List<String> table(CheckpointStore store, List<Path> folders) throws IOException {
        List<CheckpointInfo> infos = new ArrayList<>();
        java.util.SortedSet<String> powers = new java.util.TreeSet<>();
        for (Path folder : folders) {
            CheckpointInfo info = store.describe(folder);
            infos.add(info);
            if (info.meta() != null) {
                powers.addAll(info.meta().powers().keySet());
            }
        }
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%-18s %6s %8s %10s %10s %10s %10s", "checkpoint",
                "epoch", "step", "top1_err", "top5_err", "ema_top1", "ema_top5"));
        powers.forEach(name -> header.append(String.format(Locale.ROOT, " %11s", name + "_top1")));
        List<String> rows = new ArrayList<>(List.of(header.append(String.format(Locale.ROOT, " %10s  %s", "MB", "verifies")).toString()));
        for (CheckpointInfo info : infos) {
            rows.add(row(info, powers));
        }
        return rows;
    }

    private static String row(CheckpointInfo info, java.util.SortedSet<String> powers) {
        CheckpointMeta meta = info.meta();
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-18s", info.name()));
        if (meta == null) {
            row.append(String.format(Locale.ROOT, " %6s %8s %10s %10s %10s %10s", "-", "-", "-", "-", "-", "-"));
            powers.forEach(name -> row.append(String.format(Locale.ROOT, " %11s", "-")));
            return row.append(String.format(Locale.ROOT, " %10.1f  NO: %s", info.bytes() / 1e6, info.problem())).toString();
        }
        String epoch = meta.epoch() == meta.emaEpoch() ? String.valueOf(meta.epoch() + 1) : (meta.epoch() + 1) + "/" + (meta.emaEpoch() + 1);
        row.append(String.format(Locale.ROOT, " %6s %8s %10.3f %10.3f %10.3f %10.3f", epoch, meta.step() < 0 ? "-" : String.valueOf(meta.step()),
                meta.testErr(), meta.testTop5Err(), meta.emaErr(), meta.emaTop5Err()));
        for (String name : powers) {
            TestErrors errs = meta.powers().get(name);
            row.append(String.format(Locale.ROOT, " %11s", errs == null ? "-" : String.format(Locale.ROOT, "%.3f", errs.top1())));
        }
        return row.append(String.format(Locale.ROOT, " %10.1f  %s", info.bytes() / 1e6, info.verifies() ? "yes" : "NO: " + info.problem()))
                .toString();
    }

    private static void show(CheckpointStore store, Path checkpoint) throws IOException {
        ObjectNode meta = (ObjectNode) store.metaJson(checkpoint).deepCopy();
        JsonNode config = meta.remove("config");
        CheckpointInfo info = store.describe(checkpoint);
        System.out.println(checkpoint + ": " + (info.verifies() ? "verifies" : "DOES NOT VERIFY: " + info.problem()));
        System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(meta));
        if (config != null) {
            System.out.println("config:");
            System.out.println(config.asText().stripTrailing());
        }
    }

    private static void print(List<String> lines) {
        lines.forEach(System.out::println);
    }

    private static void fail(String message) {
        System.err.println("emaspark: error: " + message);
        System.exit(2);
    }
}
