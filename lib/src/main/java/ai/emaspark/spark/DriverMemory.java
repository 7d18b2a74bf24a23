package ai.emaspark.spark;

import ai.emaspark.model.StateLayout;
import java.util.Locale;

/**
 * What the driver's heap holds for a run: the model's state, the momentum, and every EMA three times
 * while an epoch trains (the run's, the epoch's start that each attempt restarts from, and the
 * attempt's staged copy), plus about two states in flight for broadcasts and checkpoints. Checked
 * before Spark starts, so a run with too many EMAs for its driver fails in one line instead of an
 * OutOfMemoryError mid-run.
 */
record DriverMemory(long stateBytes, int emas, long heapBytes) {
    private static final int STAGED_COPIES = 3;
    private static final int IN_FLIGHT = 2;

    static DriverMemory of(StateLayout layout, int powerEmas) {
        long state = 4L * layout.floatCount() + 8L * layout.longCount();
        return new DriverMemory(state, 1 + powerEmas, Runtime.getRuntime().maxMemory());
    }

    long needed() {
        long momentum = stateBytes; // about one float per parameter
        return stateBytes + momentum + (long) STAGED_COPIES * emas * stateBytes + IN_FLIGHT * stateBytes;
    }

    /** For the driver's log at start. */
    String describe() {
        return String.format(Locale.ROOT, "%d EMA(s) on the driver (pycls's and %d power EMA(s)), %s each; with the model, "
                + "momentum and each EMA's staged copies the driver needs about %s of its %s heap", emas, emas - 1,
                mb(stateBytes), mb(needed()), mb(heapBytes));
    }

    /** Why the driver's heap cannot hold this run, in one line, or null. */
    String problem() {
        if (needed() <= heapBytes) {
            return null;
        }
        return String.format(Locale.ROOT, "the driver needs about %s for the model, momentum and %d EMA(s) (%s each, 3 copies "
                + "while an epoch trains) but its heap is %s: raise spark.driver.memory to at least %s, or keep fewer "
                + "EMA.POWER_SIGMA_RELS", mb(needed()), emas, mb(stateBytes), mb(heapBytes), mb(needed() * 5 / 4));
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%d MB", (bytes + (1 << 20) - 1) >> 20);
    }
}
