package ai.emaspark.eval;

import java.util.ArrayDeque;
import java.util.Arrays;

/** pycls's ScalarMeter: a value's median over the last {@code window} updates and its overall mean. */
public final class ScalarMeter {
    private final int window;
    private final ArrayDeque<Double> recent = new ArrayDeque<>();
    private double total;
    private long count;

    public ScalarMeter(int window) {
        if (window < 1) {
            throw new IllegalArgumentException("window must be at least 1: " + window);
        }
        this.window = window;
    }

    public void add(double value) {
        if (recent.size() == window) {
            recent.removeFirst();
        }
        recent.addLast(value);
        total += value;
        count++;
    }

    /** numpy's median of the window: the mean of the two middle values when their count is even. */
    public double windowMedian() {
        double[] sorted = recent.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public double globalAverage() {
        return count == 0 ? Double.NaN : total / count;
    }

    @Override
    public String toString() {
        return "ScalarMeter" + Arrays.toString(recent.toArray());
    }
}
