package ai.emaspark.train;

import ai.emaspark.config.Config;
import java.io.Serializable;

/** torch.optim.SGD's hyper-parameters as pycls sets them (the lr comes per epoch). */
public record SgdSettings(double momentum, double dampening, boolean nesterov, double weightDecay) implements Serializable {

    public static SgdSettings of(Config cfg) {
        return new SgdSettings(
                cfg.getFloat("OPTIM.MOMENTUM"),
                cfg.getFloat("OPTIM.DAMPENING"),
                cfg.getBool("OPTIM.NESTEROV"),
                cfg.getFloat("OPTIM.WEIGHT_DECAY"));
    }
}
