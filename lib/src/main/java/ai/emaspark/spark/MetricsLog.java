package ai.emaspark.spark;

import ai.emaspark.eval.JsonStats;
import ai.emaspark.eval.StatsLine;
import ai.emaspark.checkpoint.OwnershipCheck;
import ai.emaspark.fs.Replace;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OUT_DIR/metrics.jsonl: one pycls json_stats object per line. Rewritten whole after each epoch,
 * before its checkpoint is committed, by {@link Replace#replace}: a crash at any moment leaves the
 * previous file or the new one, never neither, so no line once flushed is lost. On resume, lines of
 * epochs after the resumed checkpoint (from a run that died before committing them) are dropped, so
 * each epoch appears once.
 */
final class MetricsLog {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsLog.class);

    static final String FILE = "metrics.jsonl";

    private final FileSystem fs;
    private final Path file;
    private final List<String> lines = new ArrayList<>();
    private final OwnershipCheck owner;

    MetricsLog(FileSystem fs, Path outDir, int keepEpochsBelow) throws IOException {
        this(fs, outDir, keepEpochsBelow, OwnershipCheck.READER);
    }

    /** {@code owner} is confirmed right before every flush replaces the file. */
    MetricsLog(FileSystem fs, Path outDir, int keepEpochsBelow, OwnershipCheck owner) throws IOException {
        this.fs = fs;
        this.owner = owner;
        this.file = new Path(outDir, FILE);
        if (fs.exists(file)) {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    if (!line.isBlank() && epochIndex(line) < keepEpochsBelow) {
                        lines.add(line);
                    }
                }
            }
        }
    }

    /** Epoch index (from 0) of a stats line; a line that is not one counts as after every epoch. */
    static int epochIndex(String line) {
        return StatsLine.parse(line).map(StatsLine::epochIndex).filter(i -> i >= 0).orElse(Integer.MAX_VALUE);
    }

    /** Logs a stats line for operators and keeps it for the file. */
    void add(Map<String, Object> stats) {
        LOG.info(JsonStats.line(stats));
        lines.add(JsonStats.json(stats));
    }

    /** Keeps lines (json_stats objects) that were logged where they were made, e.g. rank 0's train_iter lines. */
    void addLogged(List<String> jsonLines) {
        lines.addAll(jsonLines);
    }

    void flush() throws IOException {
        // a unique name: a killed writer's file may still hold its HDFS lease
        Path temp = new Path(file.getParent(), "." + file.getName() + ".tmp-" + java.util.UUID.randomUUID());
        try {
            try (OutputStream out = fs.create(temp, false)) {
                for (String line : lines) {
                    out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                }
            }
            owner.confirm(); // a run that lost OUT_DIR writes nothing more
            Replace.replace(fs, temp, file);
        } catch (IOException | RuntimeException e) {
            Replace.discard(fs, temp);
            throw e;
        }
    }

    List<String> lines() {
        return List.copyOf(lines);
    }
}
