package ai.emaspark.model;

import ai.emaspark.config.Config;
import java.io.Serializable;

/** What builds a model: the model keys of a config, read once. */
public record ModelSpec(String type, int depth, int numClasses, double bnEps, double bnMomentum,
        boolean zeroInitFinalGamma, int imageSize) implements Serializable {

    public static ModelSpec of(Config cfg) {
        return new ModelSpec(
                cfg.getString("MODEL.TYPE"),
                cfg.getInt("MODEL.DEPTH"),
                cfg.getInt("MODEL.NUM_CLASSES"),
                cfg.getFloat("BN.EPS"),
                cfg.getFloat("BN.MOM"),
                cfg.getBool("BN.ZERO_INIT_FINAL_GAMMA"),
                cfg.getInt("TRAIN.IM_SIZE"));
    }
}
