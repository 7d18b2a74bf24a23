package ai.emaspark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * pycls's ResNet for depth 6n+2 ({@code pycls/models/resnet.py}, {@code _construct_cifar}): a 3x3
 * stem of 16 channels, three stages of n basic blocks (16, 32, 64 channels, strides 1, 2, 2) and
 * a linear head. Child names are pycls's module names, so state keys match its state_dict.
 */
public final class ResNetCifar extends AbstractBlock {
    private final Block stem;
    private final Block s1;
    private final Block s2;
    private final Block s3;
    private final Block head;

    public ResNetCifar(ModelSpec spec) {
        int d = (spec.depth() - 2) / 6;
        stem = addChildBlock("stem", new Stem(spec, 16));
        s1 = addChildBlock("s1", new Stage(spec, 16, 16, 1, d));
        s2 = addChildBlock("s2", new Stage(spec, 16, 32, 2, d));
        s3 = addChildBlock("s3", new Stage(spec, 32, 64, 2, d));
        head = addChildBlock("head", new Head(spec.numClasses()));
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = stem.forward(store, inputs, training);
        x = s1.forward(store, x, training);
        x = s2.forward(store, x, training);
        x = s3.forward(store, x, training);
        return head.forward(store, x, training);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape[] shapes = inputShapes;
        for (Block child : new Block[] {stem, s1, s2, s3, head}) {
            child.initialize(manager, dataType, shapes);
            shapes = child.getOutputShapes(shapes);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape[] shapes = inputShapes;
        for (Block child : new Block[] {stem, s1, s2, s3, head}) {
            shapes = child.getOutputShapes(shapes);
        }
        return shapes;
    }

    /** ResStemCifar: conv 3x3, BN, ReLU. */
    static final class Stem extends AbstractBlock {
        private final Conv2d conv;
        private final BatchNorm bn;

        Stem(ModelSpec spec, int wOut) {
            conv = addChildBlock("conv", Layers.conv2d(wOut, 3, 1));
            bn = addChildBlock("bn", Layers.norm2d(spec));
        }

        @Override
        protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
            NDList x = bn.forward(store, conv.forward(store, inputs, training), training);
            return new NDList(Activation.relu(x.singletonOrThrow()));
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            conv.initialize(manager, dataType, inputShapes);
            bn.initialize(manager, dataType, conv.getOutputShapes(inputShapes));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return conv.getOutputShapes(inputShapes);
        }
    }

    /** ResStage: d residual blocks b1..bd, the first one carrying the stride and width change. */
    static final class Stage extends AbstractBlock {
        Stage(ModelSpec spec, int wIn, int wOut, int stride, int depth) {
            for (int i = 0; i < depth; i++) {
                addChildBlock("b" + (i + 1), new ResBlock(spec, i == 0 ? wIn : wOut, wOut, i == 0 ? stride : 1));
            }
        }

        @Override
        protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
            NDList x = inputs;
            for (Block block : children.values()) {
                x = block.forward(store, x, training);
            }
            return x;
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            Shape[] shapes = inputShapes;
            for (Block block : children.values()) {
                block.initialize(manager, dataType, shapes);
                shapes = block.getOutputShapes(shapes);
            }
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            Shape[] shapes = inputShapes;
            for (Block block : children.values()) {
                shapes = block.getOutputShapes(shapes);
            }
            return shapes;
        }
    }

    /** ResBlock: relu(f(x) + x), with a 1x1 projection + BN on the shortcut when shape changes. */
    static final class ResBlock extends AbstractBlock {
        private final Conv2d proj;
        private final BatchNorm bn;
        private final BasicTransform f;

        ResBlock(ModelSpec spec, int wIn, int wOut, int stride) {
            boolean project = wIn != wOut || stride != 1;
            proj = project ? addChildBlock("proj", Layers.conv2d(wOut, 1, stride)) : null;
            bn = project ? addChildBlock("bn", Layers.norm2d(spec)) : null;
            f = addChildBlock("f", new BasicTransform(spec, wOut, stride));
        }

        @Override
        protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
            NDArray shortcut = proj == null
                    ? inputs.singletonOrThrow()
                    : bn.forward(store, proj.forward(store, inputs, training), training).singletonOrThrow();
            NDArray out = f.forward(store, inputs, training).singletonOrThrow().add(shortcut);
            return new NDList(Activation.relu(out));
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            if (proj != null) {
                proj.initialize(manager, dataType, inputShapes);
                bn.initialize(manager, dataType, proj.getOutputShapes(inputShapes));
            }
            f.initialize(manager, dataType, inputShapes);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return f.getOutputShapes(inputShapes);
        }
    }

    /** BasicTransform: 3x3 conv, BN, ReLU, 3x3 conv, BN (b_bn is the block's final BN). */
    static final class BasicTransform extends AbstractBlock {
        private final Conv2d a;
        private final BatchNorm aBn;
        private final Conv2d b;
        private final BatchNorm bBn;

        BasicTransform(ModelSpec spec, int wOut, int stride) {
            a = addChildBlock("a", Layers.conv2d(wOut, 3, stride));
            aBn = addChildBlock("a_bn", Layers.norm2d(spec));
            b = addChildBlock("b", Layers.conv2d(wOut, 3, 1));
            bBn = addChildBlock("b_bn", Layers.norm2d(spec));
        }

        @Override
        protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
            NDArray x = aBn.forward(store, a.forward(store, inputs, training), training).singletonOrThrow();
            NDList relu = new NDList(Activation.relu(x));
            return bBn.forward(store, b.forward(store, relu, training), training);
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            a.initialize(manager, dataType, inputShapes);
            Shape[] mid = a.getOutputShapes(inputShapes);
            aBn.initialize(manager, dataType, mid);
            b.initialize(manager, dataType, mid);
            bBn.initialize(manager, dataType, b.getOutputShapes(mid));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return b.getOutputShapes(a.getOutputShapes(inputShapes));
        }
    }

    /** ResHead: global average pool, then fc. */
    static final class Head extends AbstractBlock {
        private final Linear fc;

        Head(int numClasses) {
            fc = addChildBlock("fc", Layers.linear(numClasses));
        }

        @Override
        protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
            NDArray x = inputs.singletonOrThrow();
            // global average pool; PyTorch's engine in DJL averages over one axis at a time
            NDArray pooled = x.reshape(x.getShape().get(0), x.getShape().get(1), -1).mean(new int[] {2});
            return fc.forward(store, new NDList(pooled), training);
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            fc.initialize(manager, dataType, new Shape(inputShapes[0].get(0), inputShapes[0].get(1)));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return fc.getOutputShapes(new Shape[] {new Shape(inputShapes[0].get(0), inputShapes[0].get(1))});
        }
    }
}
