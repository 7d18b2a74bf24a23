package ai.emaspark.eval;

import java.io.Serializable;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a rank's training steps spend their time, summed per phase: waiting for its batch, forward and
 * backward, copying the gradients out of the engine, waiting for the slowest rank (until the previous
 * rank's all-reduce call reaches this one), the exchange itself, the optimizer step and the EMA
 * snapshot. Laps are taken back to back, so the phases add up to the steps' wall time. {@code
 * train_iter} lines show the averages over the iterations since the previous line, {@code train_epoch}
 * lines the epoch's ({@link #perIteration}).
 */
public final class StepTimes implements Serializable {
    private static final long serialVersionUID = 1L;

    /** A step's phases in the order they run; each is reported as {@code time_<key>}, seconds per iteration. */
    public enum Phase {
        DATA("data"), FORWARD_BACKWARD("fwd_bwd"), GRADIENTS_OUT("grads_out"), WAIT("wait_slowest"), EXCHANGE("exchange"),
        STEP("step"), EMA("ema");

        private final String key;

        Phase(String key) {
            this.key = key;
        }

        public String key() {
            return "time_" + key;
        }
    }

    private final long[] nanos;
    private int iterations;
    private transient long mark;

    public StepTimes() {
        this(new long[Phase.values().length], 0);
    }

    private StepTimes(long[] nanos, int iterations) {
        this.nanos = nanos;
        this.iterations = iterations;
    }

    /** Starts the clock of an iteration's first phase. */
    public void start() {
        mark = System.nanoTime();
    }

    /** Ends the phase that ran since the previous lap (or {@link #start}): its time goes to {@code phase}. */
    public void lap(Phase phase) {
        long now = System.nanoTime();
        nanos[phase.ordinal()] += now - mark;
        mark = now;
    }

    /** Counts {@code time} (nanoseconds) of {@code from} as {@code to}: the wait for the slowest rank inside an exchange. */
    public void move(Phase from, Phase to, long time) {
        long moved = Math.min(time, nanos[from.ordinal()]);
        nanos[from.ordinal()] -= moved;
        nanos[to.ordinal()] += moved;
    }

    public void iterationDone() {
        iterations++;
    }

    public int iterations() {
        return iterations;
    }

    /** Seconds of {@code phase} per iteration. */
    public double perIteration(Phase phase) {
        return iterations == 0 ? 0 : nanos[phase.ordinal()] / 1e9 / iterations;
    }

    /** Every phase's seconds per iteration, keyed {@code time_<phase>}, in the order they run. */
    public Map<String, Object> perIteration() {
        Map<String, Object> stats = new LinkedHashMap<>();
        for (Phase phase : Phase.values()) {
            stats.put(phase.key(), perIteration(phase));
        }
        return stats;
    }

    /** What was added since {@code earlier} (a copy taken then). */
    public StepTimes since(StepTimes earlier) {
        long[] diff = new long[nanos.length];
        Arrays.setAll(diff, i -> nanos[i] - earlier.nanos[i]);
        return new StepTimes(diff, iterations - earlier.iterations);
    }

    public StepTimes copy() {
        return new StepTimes(nanos.clone(), iterations);
    }
}
