package ai.emaspark.spark;

import java.io.IOException;

/**
 * A run that cannot go on, said in one line for the operator: what failed, where, and what to do.
 * The job prints it as its {@code emaspark: error:} line.
 */
public final class RunFailedException extends IOException {
    private static final long serialVersionUID = 1L;

    public RunFailedException(String message) {
        super(message);
    }

    public RunFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
