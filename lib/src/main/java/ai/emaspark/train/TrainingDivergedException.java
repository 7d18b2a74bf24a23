package ai.emaspark.train;

/**
 * The loss averaged over the replicas is not a finite number: the run has diverged (pycls's
 * check_nan_losses). Retrying would diverge again, and nothing of it may be checkpointed.
 */
public final class TrainingDivergedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** How the message starts, so the driver knows it among task failures. */
    public static final String PREFIX = "training diverged:";

    public TrainingDivergedException(double loss, String where, double lr) {
        super(PREFIX + " the loss averaged over the replicas is " + loss + " at " + where + " (lr " + lr
                + "); lower OPTIM.BASE_LR or add warmup (OPTIM.WARMUP_EPOCHS), then start again from the last checkpoint");
    }
}
