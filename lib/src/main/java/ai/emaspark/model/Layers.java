package ai.emaspark.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;

/** pycls's layer helpers ({@code conv2d}, {@code norm2d}, {@code linear}) as DJL blocks. */
final class Layers {
    private Layers() {}

    /** pycls conv2d: padding (k-1)/2, no bias. */
    static Conv2d conv2d(int wOut, int kernel, int stride) {
        return Conv2d.builder()
                .setKernelShape(new Shape(kernel, kernel))
                .optStride(new Shape(stride, stride))
                .optPadding(new Shape((kernel - 1) / 2, (kernel - 1) / 2))
                .setFilters(wOut)
                .optBias(false)
                .build();
    }

    /** pycls norm2d; DJL's momentum is the weight of the old statistics, PyTorch's of the new. */
    static BatchNorm norm2d(ModelSpec spec) {
        return BatchNorm.builder().optEpsilon((float) spec.bnEps()).optMomentum((float) (1.0 - spec.bnMomentum())).build();
    }

    static Linear linear(int units) {
        return Linear.builder().setUnits(units).optBias(true).build();
    }
}
