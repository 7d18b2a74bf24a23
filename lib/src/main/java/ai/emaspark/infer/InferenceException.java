package ai.emaspark.infer;

/** Scoring cannot start: a checkpoint, dataset or column that is not what it should be. The message names the fix. */
public final class InferenceException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public InferenceException(String message) {
        super(message);
    }
}
