package ai.emaspark.checkpoint;

import java.io.IOException;

/**
 * Proves, right before a write that replaces or deletes something in OUT_DIR (a checkpoint's commit,
 * best/, pruning, metrics.jsonl, config.yaml), that this run still owns OUT_DIR: a run that lost it
 * (stalled past the lock's silence bound, taken over by another) writes nothing more.
 */
@FunctionalInterface
public interface OwnershipCheck {
    /** For readers of OUT_DIR, which never replace or delete anything there. */
    OwnershipCheck READER = () -> {};

    /** Throws if this run no longer owns OUT_DIR. */
    void confirm() throws IOException;
}
