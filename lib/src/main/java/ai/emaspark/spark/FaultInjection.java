package ai.emaspark.spark;

/**
 * A test aid, read once per task from the executors' environment (unset in production), each
 * {@code EPOCH:RANK:ITER} with the epoch from 0:
 * <ul>
 *   <li>{@code EMASPARK_DEBUG_FAIL_ONCE}: that rank fails at that iteration in the epoch's first
 *       attempt, as a lost GPU or a crashed task would;
 *   <li>{@code EMASPARK_DEBUG_NAN}: that rank's gradients turn NaN at that iteration, as a diverging
 *       run's do;
 *   <li>{@code EMASPARK_DEBUG_STALL_ONCE}: that rank hangs at that iteration in the epoch's first
 *       attempt for 10 minutes, as a read from a hung HDFS DataNode would; like such a read, it
 *       ends early only when the task's thread is interrupted.
 * </ul>
 */
final class FaultInjection {
    private static final String FAIL = "EMASPARK_DEBUG_FAIL_ONCE";
    private static final String NAN = "EMASPARK_DEBUG_NAN";
    private static final String STALL = "EMASPARK_DEBUG_STALL_ONCE";
    private static final long STALL_MS = 10 * 60_000;

    private final int[] fail;
    private final int[] nan;
    private final int[] stall;

    private FaultInjection(int[] fail, int[] nan, int[] stall) {
        this.fail = fail;
        this.nan = nan;
        this.stall = stall;
    }

    static FaultInjection fromEnvironment() {
        return new FaultInjection(point(System.getenv(FAIL)), point(System.getenv(NAN)), point(System.getenv(STALL)));
    }

    private static int[] point(String spec) {
        if (spec == null) {
            return null;
        }
        String[] parts = spec.split(":");
        return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2])};
    }

    private static boolean at(int[] point, int epoch, int rank, int iteration) {
        return point != null && point[0] == epoch && point[1] == rank && point[2] == iteration;
    }

    void maybeFail(int epoch, int rank, int iteration, int attempt) {
        if (attempt == 0 && at(fail, epoch, rank, iteration)) {
            throw new IllegalStateException("injected failure (" + FAIL + "=" + epoch + ":" + rank + ":" + iteration + ")");
        }
    }

    void maybeStall(int epoch, int rank, int iteration, int attempt) throws java.io.InterruptedIOException {
        if (attempt == 0 && at(stall, epoch, rank, iteration)) {
            try {
                Thread.sleep(STALL_MS);
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException("injected stall (" + STALL + ") interrupted");
            }
        }
    }

    /** NaN into the gradients [from, to) of {@code exchange} (never the stats after them) at the planned iteration. */
    void maybePoison(int epoch, int rank, int iteration, ai.emaspark.comm.FloatSlab exchange, int from, int to) {
        if (at(nan, epoch, rank, iteration)) {
            exchange.fill(from, to, Float.NaN);
        }
    }
}
