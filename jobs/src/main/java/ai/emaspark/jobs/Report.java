package ai.emaspark.jobs;

import ai.emaspark.eval.StatsLine;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Prints a run's per-epoch table (loss, model and EMA top-1 error, and each power EMA's) from OUT_DIR/metrics.jsonl and
 * the checkpoint entries on its file system: {@code Report OUT_DIR}.
 */
public final class Report {
    private Report() {}

    public static void main(String[] args) throws Exception {
        Path outDir = new Path(args[0]);
        FileSystem fs = FileSystem.get(URI.create(args[0]), new Configuration());
        Map<String, Map<String, JsonNode>> epochs = new TreeMap<>((a, b) -> Integer.compare(number(a), number(b)));
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(fs.open(new Path(outDir, "metrics.jsonl")),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                StatsLine.parse(line).filter(s -> s.epochIndex() >= 0).ifPresent(s ->
                        epochs.computeIfAbsent(s.epochLabel(), k -> new TreeMap<>()).put(s.type(), s.fields()));
            }
        }
        // Power EMAs (EMA.POWER_SIGMA_RELS) have a test line each, test_ema_p0.100_epoch and so on: a column each.
        java.util.TreeSet<String> powers = new java.util.TreeSet<>();
        epochs.values().forEach(stats -> stats.keySet().stream().filter(t -> t.startsWith("test_ema_p") && t.endsWith("_epoch"))
                .forEach(powers::add));
        StringBuilder header = new StringBuilder(String.format("%-8s %10s %14s %14s", "epoch", "train loss", "model top-1 %",
                "EMA top-1 %"));
        powers.forEach(t -> header.append(String.format(" %14s", "EMA " + t.substring("test_ema_".length(), t.length() - 6) + " %")));
        System.out.println(header);
        for (Map.Entry<String, Map<String, JsonNode>> epoch : epochs.entrySet()) {
            Map<String, JsonNode> stats = epoch.getValue();
            StringBuilder row = new StringBuilder(String.format("%-8s %10s %14s %14s", epoch.getKey(), value(stats, "train_epoch", "loss"),
                    value(stats, "test_epoch", "top1_err"), value(stats, "test_ema_epoch", "top1_err")));
            powers.forEach(t -> row.append(String.format(" %14s", value(stats, t, "top1_err"))));
            System.out.println(row);
        }
        System.out.println();
        System.out.println("checkpoints in " + new Path(outDir, "checkpoints") + ":");
        for (FileStatus checkpoint : fs.listStatus(new Path(outDir, "checkpoints"))) {
            for (FileStatus entry : fs.listStatus(checkpoint.getPath())) {
                System.out.printf("  %-60s %,12d bytes%n", checkpoint.getPath().getName() + "/" + entry.getPath().getName(),
                        entry.getLen());
            }
        }
    }

    private static int number(String epochLabel) {
        return Integer.parseInt(epochLabel.split("/")[0]);
    }

    private static String value(Map<String, JsonNode> stats, String type, String field) {
        JsonNode node = stats.get(type);
        return node == null ? "-" : String.format("%.3f", node.path(field).asDouble());
    }
}
