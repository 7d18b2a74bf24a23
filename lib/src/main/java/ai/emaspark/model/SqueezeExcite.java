package ai.emaspark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** pycls SE: x * f_ex(avg_pool(x)), f_ex = 1x1 conv (bias), AF, 1x1 conv (bias), sigmoid. */
final class SqueezeExcite extends AbstractBlock {
    private final Block fEx;

    SqueezeExcite(Block fEx) {
        this.fEx = addChildBlock("f_ex", fEx);
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray pooled = pooled(x);
        NDArray scale = fEx.forward(store, new NDList(pooled), training).singletonOrThrow();
        pooled.close();
        NDArray out = x.mul(scale);
        scale.close();
        return new NDList(out);
    }

    /** AdaptiveAvgPool2d((1, 1)), kept 4-d. */
    private static NDArray pooled(NDArray x) {
        Shape shape = x.getShape();
        return Pool.globalAvgPool2d(x).reshape(shape.get(0), shape.get(1), 1, 1);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape in = inputShapes[0];
        fEx.initialize(manager, dataType, new Shape(in.get(0), in.get(1), 1, 1));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }
}
