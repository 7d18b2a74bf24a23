package ai.emaspark.spark;

import ai.emaspark.model.StateLayout;
import java.util.Locale;

/**
 * What the driver's heap holds for a run at its peak, an epoch's end: the model's state, the momentum,
 * every EMA three times (the run's, the epoch's start that each attempt restarts from, and the
 * attempt's staged copy), the epoch's result (rank 0's weights and momentum, serialized and then
 * deserialized) and the evaluation's broadcast of the model and every EMA (serialized), with a quarter
 * more for G1, which keeps each state in contiguous regions of its own. Checked before Spark starts,
 * so a run with too many EMAs for its driver fails in one line instead of an OutOfMemoryError at an
 * epoch's end (in Spark's result thread, which leaves the job waiting forever).
 */
record DriverMemory(long stateBytes, int emas, long heapBytes) {
    private static final int STAGED_COPIES = 3;
    private static final int EPOCH_RESULT = 4;

    static DriverMemory of(StateLayout layout, int powerEmas) {
        long state = 4L * layout.floatCount() + 8L * layout.longCount();
        return new DriverMemory(state, 1 + powerEmas, Runtime.getRuntime().maxMemory());
    }

    long needed() {
        long momentum = stateBytes; // about one float per parameter
        long evaluated = (1L + emas) * stateBytes;
        long states = stateBytes + momentum + (long) STAGED_COPIES * emas * stateBytes + EPOCH_RESULT * stateBytes + evaluated;
        return states * 5 / 4;
    }

    /** For the driver's log at start. */
    String describe() {
        return String.format(Locale.ROOT, "%d EMA(s) on the driver (pycls's and %d power EMA(s)), %s each; with the model, "
                + "momentum, each EMA's staged copies, the epoch's result and its evaluation the driver needs about %s of its %s heap", emas, emas - 1,
                mb(stateBytes), mb(needed()), mb(heapBytes));
    }

    /** Why the driver's heap cannot hold this run, in one line, or null. */
    String problem() {
        if (needed() <= heapBytes) {
            return null;
        }
        return String.format(Locale.ROOT, "the driver needs about %s for the model, momentum, the epoch's result and %d EMA(s) "
                + "(%s each, 3 copies while an epoch trains) but its heap is %s: raise spark.driver.memory to at least %s, or keep fewer "
                + "EMA.POWER_SIGMA_RELS", mb(needed()), emas, mb(stateBytes), mb(heapBytes), mb(needed() * 5 / 4));
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%d MB", (bytes + (1 << 20) - 1) >> 20);
    }
}
