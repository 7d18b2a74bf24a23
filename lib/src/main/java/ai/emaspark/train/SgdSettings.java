package ai.emaspark.train;

import ai.emaspark.config.Config;
import java.io.Serializable;

/**
 * torch.optim.SGD's hyper-parameters as pycls sets them (the lr comes per epoch).
 *
 * @param bnWeightDecay weight decay of parameters whose name contains "bn" (BN.USE_CUSTOM_WEIGHT_DECAY,
 *     pycls's rule), or NaN for weightDecay everywhere
 */
public record SgdSettings(double momentum, double dampening, boolean nesterov, double weightDecay, double bnWeightDecay)
        implements Serializable {

    public SgdSettings(double momentum, double dampening, boolean nesterov, double weightDecay) {
        this(momentum, dampening, nesterov, weightDecay, Double.NaN);
    }

    public static SgdSettings of(Config cfg) {
        return new SgdSettings(
                cfg.getFloat("OPTIM.MOMENTUM"),
                cfg.getFloat("OPTIM.DAMPENING"),
                cfg.getBool("OPTIM.NESTEROV"),
                cfg.getFloat("OPTIM.WEIGHT_DECAY"),
                cfg.getBool("BN.USE_CUSTOM_WEIGHT_DECAY") ? cfg.getFloat("BN.CUSTOM_WEIGHT_DECAY") : Double.NaN);
    }

    /** The weight decay of the parameter named {@code name} (a pycls state_dict key). */
    public double weightDecayOf(String name) {
        return !Double.isNaN(bnWeightDecay) && name.contains("bn") ? bnWeightDecay : weightDecay;
    }
}
