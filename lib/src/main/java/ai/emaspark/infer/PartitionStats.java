package ai.emaspark.infer;

import java.io.Serializable;
import java.util.List;

/**
 * What one partition's scoring did, for the driver's report: images scored and skipped (with the first
 * reasons), where the time went, and when (executor clock, to add up an executor's wall time).
 *
 * @param readSeconds the task thread reading input rows (the file system, for a folder of image files)
 * @param decodeSeconds summed over the decode threads
 * @param waitSeconds the task thread waiting for decoded images
 * @param forwardSeconds the network's forward passes
 * @param setupSeconds building a replica (and reading the weights, when {@code readWeights})
 * @param device where it scored, e.g. "cpu" or "gpu(1)"
 */
public record PartitionStats(String executor, String device, long images, long skipped, List<String> skippedExamples, double readSeconds, double decodeSeconds,
        double waitSeconds, double forwardSeconds, double setupSeconds, boolean readWeights, long startMillis, long endMillis)
        implements Serializable {

    public PartitionStats {
        skippedExamples = List.copyOf(skippedExamples);
    }

    public double wallSeconds() {
        return (endMillis - startMillis) / 1e3;
    }
}
