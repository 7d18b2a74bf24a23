package ai.emaspark.infer;

import ai.emaspark.checkpoint.CheckpointMeta;
import ai.emaspark.checkpoint.CheckpointStore;
import java.util.Locale;

/** Which weights of a checkpoint score images. */
public enum CheckpointEntry {
    /** The EMA of the weights (the model's own state in a checkpoint written without one, as pycls loads it). */
    EMA,
    /** The trained weights themselves. */
    MODEL,
    /** Whichever of the two has the lower top-1 error in the checkpoint's meta.json; the EMA on a tie. */
    BEST;

    public static CheckpointEntry parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InferenceException("checkpoint entry '" + name + "' is not one of ema, model, best");
        }
    }

    /** The weights file this choice reads in a checkpoint with these errors: {@link CheckpointStore#EMA} or {@link CheckpointStore#MODEL}. */
    public String file(CheckpointMeta meta) {
        return switch (this) {
            case EMA -> CheckpointStore.EMA;
            case MODEL -> CheckpointStore.MODEL;
            case BEST -> meta.emaErr() <= meta.testErr() ? CheckpointStore.EMA : CheckpointStore.MODEL;
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
