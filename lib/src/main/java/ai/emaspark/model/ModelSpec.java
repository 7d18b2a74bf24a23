package ai.emaspark.model;

import ai.emaspark.config.Config;
import java.io.Serializable;

/**
 * What builds a model: the model keys of a config, read once.
 *
 * @param type MODEL.TYPE: resnet, anynet or regnet
 * @param resnet the RESNET.* keys (resnet only)
 * @param anynet the stages of an anynet, or of a regnet after generation (null for resnet)
 */
public record ModelSpec(String type, int depth, int numClasses, double bnEps, double bnMomentum,
        boolean zeroInitFinalGamma, int imageSize, String activation, ResNetParams resnet, AnyNetParams anynet)
        implements Serializable {

    /** A CIFAR-style ResNet of depth 6n+2 with pycls's defaults (tests, small runs). */
    public ModelSpec(String type, int depth, int numClasses, double bnEps, double bnMomentum,
                     boolean zeroInitFinalGamma, int imageSize) {
        this(type, depth, numClasses, bnEps, bnMomentum, zeroInitFinalGamma, imageSize, "relu", ResNetParams.BASIC,
            null);
    }

    /** The same model with another BN momentum (1 for precise BN statistics). */
    public ModelSpec withBnMomentum(double momentum) {
        return new ModelSpec(type, depth, numClasses, bnEps, momentum, zeroInitFinalGamma, imageSize, activation, resnet,
            anynet);
    }

    public static ModelSpec of(Config cfg) {
        String type = cfg.getString("MODEL.TYPE");
        AnyNetParams anynet = switch (type) {
            case "anynet" -> AnyNetParams.of(cfg);
            case "regnet" -> RegNet.params(cfg);
            default -> null;
        };
        return new ModelSpec(
                type,
                cfg.getInt("MODEL.DEPTH"),
                cfg.getInt("MODEL.NUM_CLASSES"),
                cfg.getFloat("BN.EPS"),
                cfg.getFloat("BN.MOM"),
                cfg.getBool("BN.ZERO_INIT_FINAL_GAMMA"),
                cfg.getInt("TRAIN.IM_SIZE"),
                cfg.getString("MODEL.ACTIVATION_FUN").toLowerCase(java.util.Locale.ROOT),
                ResNetParams.of(cfg),
                anynet);
    }
}
