package ai.emaspark.spark;

/**
 * A test aid: {@code EMASPARK_DEBUG_FAIL_ONCE=EPOCH:RANK:ITER} (epoch from 0) in the executors'
 * environment makes that rank fail at that iteration in the epoch's first attempt, as a lost GPU
 * or a crashed task would. Unset in production. Read once per task, outside the training loop.
 */
final class FaultInjection {
    private static final String VARIABLE = "EMASPARK_DEBUG_FAIL_ONCE";
    private static final FaultInjection NONE = new FaultInjection(null, -1, -1, -1);

    private final String spec;
    private final int epoch;
    private final int rank;
    private final int iteration;

    private FaultInjection(String spec, int epoch, int rank, int iteration) {
        this.spec = spec;
        this.epoch = epoch;
        this.rank = rank;
        this.iteration = iteration;
    }

    static FaultInjection fromEnvironment() {
        String spec = System.getenv(VARIABLE);
        if (spec == null) {
            return NONE;
        }
        String[] parts = spec.split(":");
        return new FaultInjection(spec, Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2]));
    }

    void maybeFail(int epoch, int rank, int iteration, int attempt) {
        if (spec != null && attempt == 0 && epoch == this.epoch && rank == this.rank && iteration == this.iteration) {
            throw new IllegalStateException("injected failure (" + VARIABLE + "=" + spec + ")");
        }
    }
}
