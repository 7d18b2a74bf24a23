package ai.emaspark.checkpoint;

import java.io.IOException;

/** A checkpoint that cannot be used: incomplete, corrupt, or for another model. */
public final class CheckpointException extends IOException {
    private static final long serialVersionUID = 1L;

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
