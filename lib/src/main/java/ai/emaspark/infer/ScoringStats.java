package ai.emaspark.infer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.SparkContext;
import org.apache.spark.util.CollectionAccumulator;

/**
 * The partitions' {@link PartitionStats}, gathered on the driver through an accumulator, and the report an
 * operator reads: images scored and skipped, and images/s per executor with where its time went. Like any
 * accumulator updated in a transformation, a partition computed twice (a retried stage, a second action on
 * the same output) is counted twice: read it after one action.
 */
public final class ScoringStats {
    private final CollectionAccumulator<PartitionStats> partitions;

    private ScoringStats(CollectionAccumulator<PartitionStats> partitions) {
        this.partitions = partitions;
    }

    public static ScoringStats register(SparkContext sc) {
        return new ScoringStats(sc.collectionAccumulator("emaspark scoring"));
    }

    CollectionAccumulator<PartitionStats> accumulator() {
        return partitions;
    }

    public List<PartitionStats> partitions() {
        return List.copyOf(partitions.value());
    }

    public long images() {
        return partitions().stream().mapToLong(PartitionStats::images).sum();
    }

    public long skipped() {
        return partitions().stream().mapToLong(PartitionStats::skipped).sum();
    }

    /** Where the images were scored: each device once, e.g. "cpu" or "gpu(0), gpu(1)". */
    public String devices() {
        return partitions().stream().filter(p -> p.images() + p.skipped() > 0).map(PartitionStats::device).distinct().sorted()
                .collect(Collectors.joining(", "));
    }

    /** The first reasons images were skipped, a few per partition. */
    public List<String> skippedExamples() {
        return partitions().stream().flatMap(p -> p.skippedExamples().stream()).toList();
    }

    /**
     * One line per executor: images/s over its wall time (its first partition's start to its last one's end,
     * replicas and weights included) and where its tasks' time went; "the rest" is the time the task spent
     * outside scoring, mostly in whatever consumes the rows (e.g. the Parquet writer).
     */
    public List<String> perExecutor() {
        Map<String, List<PartitionStats>> byExecutor = partitions().stream()
                .filter(p -> p.images() + p.skipped() > 0)
                .collect(Collectors.groupingBy(PartitionStats::executor, TreeMap::new, Collectors.toList()));
        List<String> lines = new ArrayList<>();
        byExecutor.forEach((executor, parts) -> {
            long images = parts.stream().mapToLong(PartitionStats::images).sum();
            double wall = (parts.stream().mapToLong(PartitionStats::endMillis).max().orElse(0)
                    - parts.stream().mapToLong(PartitionStats::startMillis).min().orElse(0)) / 1e3;
            double read = sum(parts, PartitionStats::readSeconds);
            double waited = sum(parts, PartitionStats::waitSeconds);
            double forward = sum(parts, PartitionStats::forwardSeconds);
            double setup = sum(parts, PartitionStats::setupSeconds);
            double rest = sum(parts, PartitionStats::wallSeconds) - read - waited - forward - setup;
            String devices = parts.stream().map(PartitionStats::device).distinct().sorted().collect(Collectors.joining(", "));
            lines.add(String.format(Locale.ROOT, "executor %s on %s: %d images in %d partitions, %.1f images/s over %.2f s; task time: "
                    + "reading rows %.2f s, waiting for decodes %.2f s, forward %.2f s, replicas %.2f s (weights read %d time(s)), "
                    + "the rest %.2f s; decode %.2f s summed over its threads", executor, devices, images, parts.size(),
                    wall > 0 ? images / wall : 0.0, wall, read, waited, forward, setup,
                    parts.stream().filter(PartitionStats::readWeights).count(), rest, sum(parts, PartitionStats::decodeSeconds)));
        });
        return lines;
    }

    private static double sum(List<PartitionStats> parts, java.util.function.ToDoubleFunction<PartitionStats> field) {
        return parts.stream().mapToDouble(field).sum();
    }
}
