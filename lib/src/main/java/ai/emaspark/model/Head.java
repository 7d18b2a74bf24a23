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

/** pycls ResHead / AnyHead: optional 1x1 conv + BN + AF (HEAD_W), global average pool, fc. */
final class Head extends AbstractBlock {
    private final Seq conv; // head.conv, head.bn, head.af; null when HEAD_W is 0
    private final Block fc;

    Head(Block conv, Block bn, Block af, Block fc) {
        if (conv != null) {
            this.conv = new Seq();
            this.conv.add("conv", addChildBlock("conv", conv)).add("bn", addChildBlock("bn", bn))
                .add("af", addChildBlock("af", af));
        } else {
            this.conv = null;
        }
        this.fc = addChildBlock("fc", fc);
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = conv == null ? inputs : conv.forward(store, inputs, training);
        NDArray pooled = Pool.globalAvgPool2d(x.singletonOrThrow());
        return fc.forward(store, new NDList(pooled), training);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape[] shapes = inputShapes;
        if (conv != null) {
            conv.initialize(manager, dataType, shapes);
            shapes = conv.getOutputShapes(shapes);
        }
        fc.initialize(manager, dataType, new Shape(shapes[0].get(0), shapes[0].get(1)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape[] shapes = conv == null ? inputShapes : conv.getOutputShapes(inputShapes);
        return fc.getOutputShapes(new Shape[] {new Shape(shapes[0].get(0), shapes[0].get(1))});
    }
}
