package ai.emaspark.spark;

/**
 * A test aid: {@code EMASPARK_DEBUG_FAIL_ONCE=EPOCH:RANK:ITER} (epoch from 0) in the executors'
 * environment makes that rank fail at that iteration in the epoch's first attempt, as a lost GPU
 * or a crashed task would. Unset in production.
 */
final class FaultInjection {
    private static final String VARIABLE = "EMASPARK_DEBUG_FAIL_ONCE";

    private FaultInjection() {}

    static void maybeFail(int epoch, int rank, int iteration, int attempt) {
        String spec = System.getenv(VARIABLE);
        if (spec == null || attempt != 0) {
            return;
        }
        String[] parts = spec.split(":");
        if (Integer.parseInt(parts[0]) == epoch && Integer.parseInt(parts[1]) == rank && Integer.parseInt(parts[2]) == iteration) {
            throw new IllegalStateException("injected failure (" + VARIABLE + "=" + spec + ")");
        }
    }
}
