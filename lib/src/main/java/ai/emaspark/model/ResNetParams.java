package ai.emaspark.model;

import ai.emaspark.config.Config;
import java.io.Serializable;

/** RESNET.* keys: transform, groups and width per group of the bottleneck, stride placement. */
public record ResNetParams(String transFun, int numGroups, int widthPerGroup, boolean stride1x1) implements Serializable {
    public static final ResNetParams BASIC = new ResNetParams("basic_transform", 1, 64, true);

    public static ResNetParams of(Config cfg) {
        return new ResNetParams(cfg.getString("RESNET.TRANS_FUN"), cfg.getInt("RESNET.NUM_GROUPS"),
            cfg.getInt("RESNET.WIDTH_PER_GROUP"), cfg.getBool("RESNET.STRIDE_1X1"));
    }

    boolean bottleneck() {
        return transFun.equals("bottleneck_transform");
    }
}
