package ai.emaspark.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;

/**
 * pycls's layer helpers ({@code blocks.py}: conv2d, norm2d, pool2d, linear, activation) as DJL
 * blocks, each counted into a {@link Complexity} as pycls's *_cx functions count it.
 */
final class NetBuilder {
    private final ModelSpec spec;
    private final Complexity cx;

    NetBuilder(ModelSpec spec) {
        this.spec = spec;
        this.cx = new Complexity(spec.imageSize());
    }

    Complexity complexity() {
        return cx;
    }

    /** conv2d: padding (k - 1) / 2, bias only where asked (SE). */
    Conv2d conv(int wIn, int wOut, int k, int stride, int groups, boolean bias) {
        if (k % 2 != 1) {
            throw new IllegalArgumentException("only odd kernel sizes, as pycls: " + k);
        }
        cx.conv(wIn, wOut, k, stride, groups, bias);
        return Conv2d.builder()
            .setKernelShape(new Shape(k, k))
            .optStride(new Shape(stride, stride))
            .optPadding(new Shape((k - 1) / 2, (k - 1) / 2))
            .optGroups(groups)
            .setFilters(wOut)
            .optBias(bias)
            .build();
    }

    Conv2d conv(int wIn, int wOut, int k, int stride) {
        return conv(wIn, wOut, k, stride, 1, false);
    }

    /** norm2d; DJL's momentum is the weight of the old statistics, PyTorch's of the new. */
    BatchNorm norm(int wIn) {
        cx.norm(wIn);
        return BatchNorm.builder()
            .optEpsilon((float) spec.bnEps())
            .optMomentum((float) (1.0 - spec.bnMomentum()))
            .build();
    }

    /** pool2d: max pool k x k, padding (k - 1) / 2. */
    Block maxPool(int wIn, int k, int stride) {
        cx.pool(wIn, stride);
        return Pool.maxPool2dBlock(new Shape(k, k), new Shape(stride, stride), new Shape((k - 1) / 2, (k - 1) / 2));
    }

    /** MODEL.ACTIVATION_FUN: relu, or silu (x * sigmoid(x), pycls's SiLU). */
    Block activation() {
        return switch (spec.activation()) {
            case "relu" -> Activation.reluBlock();
            case "silu", "swish" -> LambdaBlock.singleton(x -> x.mul(Activation.sigmoid(x)), "silu");
            default -> throw new IllegalArgumentException("unknown MODEL.ACTIVATION_FUN " + spec.activation());
        };
    }

    Block sigmoid() {
        return LambdaBlock.singleton(Activation::sigmoid, "sigmoid");
    }

    Linear linear(int wIn, int wOut) {
        cx.linear(wIn, wOut, true);
        return Linear.builder().setUnits(wOut).optBias(true).build();
    }

    /** gap2d: the head's global average pool (counted; the pooling block itself is added by PyclsBlocks.head). */
    void globalPool() {
        cx.gap();
    }

    long[] size() {
        return cx.size();
    }

    void restore(long[] size) {
        cx.restore(size);
    }

    ModelSpec spec() {
        return spec;
    }
}
