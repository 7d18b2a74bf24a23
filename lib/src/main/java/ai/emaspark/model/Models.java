package ai.emaspark.model;

import ai.djl.nn.Block;

/** Builds the DJL block of a model spec, and pycls's complexity figures for it. */
public final class Models {
    private Models() {}

    public static Block build(ModelSpec spec) {
        return construct(new NetBuilder(spec));
    }

    /** FLOPs, parameters and activations as pycls's {@code complexity} reports them, at TRAIN.IM_SIZE. */
    public static Complexity complexity(ModelSpec spec) {
        NetBuilder builder = new NetBuilder(spec);
        construct(builder);
        return builder.complexity();
    }

    private static Block construct(NetBuilder builder) {
        ModelSpec spec = builder.spec();
        return switch (spec.type()) {
            case "resnet" -> ResNet.build(builder);
            case "anynet", "regnet" -> AnyNet.build(builder, spec.anynet());
            default -> throw new IllegalArgumentException("unsupported MODEL.TYPE " + spec.type());
        };
    }
}
