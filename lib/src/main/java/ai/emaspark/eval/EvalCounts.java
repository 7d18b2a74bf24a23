package ai.emaspark.eval;

import java.io.Serializable;

/** Top-1/top-5 hits of the model and of the EMA over some images; summed across tasks. */
public record EvalCounts(long images, long modelTop1, long modelTop5, long emaTop1, long emaTop5) implements Serializable {

    public static final EvalCounts ZERO = new EvalCounts(0, 0, 0, 0, 0);

    public EvalCounts plus(EvalCounts other) {
        return new EvalCounts(images + other.images, modelTop1 + other.modelTop1, modelTop5 + other.modelTop5,
                emaTop1 + other.emaTop1, emaTop5 + other.emaTop5);
    }

    public double modelTop1Err() {
        return error(modelTop1);
    }

    public double modelTop5Err() {
        return error(modelTop5);
    }

    public double emaTop1Err() {
        return error(emaTop1);
    }

    public double emaTop5Err() {
        return error(emaTop5);
    }

    /** Error in percent, as pycls reports it; 100 when nothing was evaluated. */
    private double error(long hits) {
        return images == 0 ? 100.0 : 100.0 * (1.0 - (double) hits / images);
    }
}
