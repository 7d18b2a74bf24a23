package ai.emaspark.model;

import ai.djl.nn.Block;
import ai.djl.nn.pooling.Pool;
import java.util.function.Supplier;

/**
 * pycls's stems, transforms, residual blocks, SE and head ({@code models/anynet.py},
 * {@code models/resnet.py}, {@code models/blocks.py}), with pycls's child names so that state keys
 * are its state_dict keys. Each helper builds its layers in pycls's order, which is also the order
 * its complexity is counted in.
 */
final class PyclsBlocks {
    private PyclsBlocks() {
    }

    /** ResStemCifar: 3x3, BN, AF. */
    static Seq resStemCifar(NetBuilder b, int wIn, int wOut) {
        return new Seq().add("conv", b.conv(wIn, wOut, 3, 1)).add("bn", b.norm(wOut)).add("af", b.activation());
    }

    /** ResStem (ResStemIN): 7x7/2, BN, AF, 3x3/2 max pool. */
    static Seq resStemIn(NetBuilder b, int wIn, int wOut) {
        return new Seq().add("conv", b.conv(wIn, wOut, 7, 2)).add("bn", b.norm(wOut)).add("af", b.activation())
            .add("pool", b.maxPool(wOut, 3, 2));
    }

    /** SimpleStem: 3x3/2, BN, AF. */
    static Seq simpleStemIn(NetBuilder b, int wIn, int wOut) {
        return new Seq().add("conv", b.conv(wIn, wOut, 3, 2)).add("bn", b.norm(wOut)).add("af", b.activation());
    }

    /** VanillaBlock: [3x3, BN, AF] x 2, no residual. */
    static Seq vanillaBlock(NetBuilder b, int wIn, int wOut, int stride) {
        return new Seq().add("a", b.conv(wIn, wOut, 3, stride)).add("a_bn", b.norm(wOut)).add("a_af", b.activation())
            .add("b", b.conv(wOut, wOut, 3, 1)).add("b_bn", b.norm(wOut)).add("b_af", b.activation());
    }

    /** BasicTransform: 3x3, BN, AF, 3x3, BN (final). */
    static Seq basicTransform(NetBuilder b, int wIn, int wOut, int stride) {
        return new Seq().add("a", b.conv(wIn, wOut, 3, stride)).add("a_bn", b.norm(wOut)).add("a_af", b.activation())
            .add("b", b.conv(wOut, wOut, 3, 1)).add("b_bn", b.norm(wOut)).finalBn("b_bn");
    }

    /**
     * BottleneckTransform: 1x1, BN, AF, 3x3 (groups), BN, AF, [SE], 1x1, BN (final). The stride sits on
     * the 1x1 when strideOn1x1 (ResNet's RESNET.STRIDE_1X1), else on the 3x3; wSe 0 means no SE.
     */
    static Seq bottleneckTransform(NetBuilder b, int wIn, int wOut, int stride, int wB, int groups,
                                   boolean strideOn1x1, int wSe) {
        int s1 = strideOn1x1 ? stride : 1;
        int s3 = strideOn1x1 ? 1 : stride;
        Seq f = new Seq().add("a", b.conv(wIn, wB, 1, s1)).add("a_bn", b.norm(wB)).add("a_af", b.activation())
            .add("b", b.conv(wB, wB, 3, s3, groups, false)).add("b_bn", b.norm(wB)).add("b_af", b.activation());
        if (wSe > 0) {
            f.add("se", squeezeExcite(b, wB, wSe));
        }
        return f.add("c", b.conv(wB, wOut, 1, 1)).add("c_bn", b.norm(wOut)).finalBn("c_bn");
    }

    /** SE(w_in, w_se): its 1x1 convs run on the pooled 1x1 map; the feature-map size is restored after. */
    static SqueezeExcite squeezeExcite(NetBuilder b, int wIn, int wSe) {
        long[] size = b.size();
        b.globalPool();
        Seq fEx = new Seq().add("0", b.conv(wIn, wSe, 1, 1, 1, true)).add("1", b.activation())
            .add("2", b.conv(wSe, wIn, 1, 1, 1, true)).add("3", b.sigmoid());
        b.restore(size);
        return new SqueezeExcite(fEx);
    }

    /** af(x_p + f(x)) with a 1x1 projection + BN shortcut when the shape changes (counted at the input size). */
    static Residual residual(NetBuilder b, int wIn, int wOut, int stride, Supplier<Seq> transform) {
        Block proj = null;
        Block bn = null;
        if (wIn != wOut || stride != 1) {
            long[] size = b.size();
            proj = b.conv(wIn, wOut, 1, stride);
            bn = b.norm(wOut);
            b.restore(size);
        }
        Seq f = transform.get();
        return Residual.of(proj, bn, f, b.activation());
    }

    /** AnyHead / ResHead: [1x1 conv, BN, AF when headW > 0], global average pool (N x C out), fc. */
    static Seq head(NetBuilder b, int wIn, int headW, int numClasses) {
        Seq head = new Seq();
        int w = wIn;
        if (headW > 0) {
            head.add("conv", b.conv(wIn, headW, 1, 1)).add("bn", b.norm(headW)).add("af", b.activation());
            w = headW;
        }
        b.globalPool();
        return head.add("avg_pool", Pool.globalAvgPool2dBlock()).add("fc", b.linear(w, numClasses));
    }
}
