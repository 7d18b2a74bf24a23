package ai.emaspark.model;

import ai.djl.nn.Block;

/** Builds the DJL block of a model spec. */
public final class Models {
    private Models() {}

    public static Block build(ModelSpec spec) {
        if (spec.type().equals("resnet") && (spec.depth() - 2) % 6 == 0) {
            return new ResNetCifar(spec);
        }
        throw new IllegalArgumentException("unsupported model: " + spec.type() + " depth " + spec.depth());
    }
}
