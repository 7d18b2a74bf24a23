package ai.emaspark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * pycls's residual blocks. {@code af(x_p + f(x))} with x_p = bn(proj(x)) when the shape changes
 * (ResBlock, ResBasicBlock, ResBottleneckBlock); or, without activation and projection,
 * {@code x + f(x)} when the shape is kept and {@code f(x)} otherwise (ResBottleneckLinearBlock).
 */
final class Residual extends AbstractBlock {
    private final Block proj;
    private final Block bn;
    private final Block f;
    private final Block af;
    private final boolean skip;

    private Residual(Block proj, Block bn, Block f, Block af, boolean skip) {
        this.proj = proj == null ? null : addChildBlock("proj", proj);
        this.bn = bn == null ? null : addChildBlock("bn", bn);
        this.f = addChildBlock("f", f);
        this.af = af == null ? null : addChildBlock("af", af);
        this.skip = skip;
    }

    /** af(x_p + f(x)); proj and bn are null when the block keeps the shape. */
    static Residual of(Block proj, Block bn, Block f, Block af) {
        return new Residual(proj, bn, f, af, true);
    }

    /** ResBottleneckLinearBlock: x + f(x) if hasSkip, else f(x). */
    static Residual linear(Block f, boolean hasSkip) {
        return new Residual(null, null, f, null, hasSkip);
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray fx = f.forward(store, inputs, training).singletonOrThrow();
        if (!skip) {
            return new NDList(fx);
        }
        NDArray xp;
        if (proj == null) {
            xp = inputs.singletonOrThrow();
        } else {
            NDList projected = proj.forward(store, inputs, training);
            xp = bn.forward(store, projected, training).singletonOrThrow();
            projected.close();
        }
        NDList sum = new NDList(xp.add(fx));
        fx.close(); // intermediates freed early (see Seq)
        if (proj != null) {
            xp.close();
        }
        if (af == null) {
            return sum;
        }
        NDList out = af.forward(store, sum, training);
        sum.close();
        return out;
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        if (proj != null) {
            proj.initialize(manager, dataType, inputShapes);
            bn.initialize(manager, dataType, proj.getOutputShapes(inputShapes));
        }
        f.initialize(manager, dataType, inputShapes);
        if (af != null) {
            af.initialize(manager, dataType, f.getOutputShapes(inputShapes));
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return f.getOutputShapes(inputShapes);
    }
}
