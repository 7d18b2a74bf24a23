package ai.emaspark.model;

/** pycls's AnyNet ({@code models/anynet.py}): stem, stages s1..sN of one block type, head. */
final class AnyNet {
    private AnyNet() {
    }

    static Seq build(NetBuilder b, AnyNetParams p) {
        Seq net = new Seq().add("stem", stem(b, p.stemType(), 3, p.stemW()));
        int prevW = p.stemW();
        for (int i = 0; i < p.depths().size(); i++) {
            int w = p.widths().get(i);
            Double botMul = p.botMuls() == null ? null : p.botMuls().get(i);
            Integer groupW = p.groupWs() == null ? null : p.groupWs().get(i);
            net.add("s" + (i + 1), stage(b, p, prevW, w, p.strides().get(i), p.depths().get(i), botMul, groupW));
            prevW = w;
        }
        return net.add("head", PyclsBlocks.head(b, prevW, p.headW(), b.spec().numClasses()));
    }

    private static Seq stem(NetBuilder b, String type, int wIn, int wOut) {
        return switch (type) {
            case "res_stem_cifar" -> PyclsBlocks.resStemCifar(b, wIn, wOut);
            case "res_stem_in" -> PyclsBlocks.resStemIn(b, wIn, wOut);
            case "simple_stem_in" -> PyclsBlocks.simpleStemIn(b, wIn, wOut);
            default -> throw new IllegalArgumentException("unknown stem type " + type);
        };
    }

    /** AnyStage: d blocks; stride and w_in apply to the first. */
    private static Seq stage(NetBuilder b, AnyNetParams p, int wIn, int wOut, int stride, int d, Double botMul,
                             Integer groupW) {
        Seq stage = new Seq();
        for (int i = 0; i < d; i++) {
            stage.add("b" + (i + 1), block(b, p, i == 0 ? wIn : wOut, wOut, i == 0 ? stride : 1, botMul, groupW));
        }
        return stage;
    }

    private static ai.djl.nn.Block block(NetBuilder b, AnyNetParams p, int wIn, int wOut, int stride, Double botMul,
                                         Integer groupW) {
        return switch (p.blockType()) {
            case "vanilla_block" -> PyclsBlocks.vanillaBlock(b, wIn, wOut, stride);
            case "res_basic_block" -> PyclsBlocks.residual(b, wIn, wOut, stride,
                () -> PyclsBlocks.basicTransform(b, wIn, wOut, stride));
            case "res_bottleneck_block" -> PyclsBlocks.residual(b, wIn, wOut, stride,
                () -> bottleneck(b, p, wIn, wOut, stride, botMul, groupW));
            case "res_bottleneck_linear_block" -> Residual.linear(bottleneck(b, p, wIn, wOut, stride, botMul, groupW),
                wIn == wOut && stride == 1);
            default -> throw new IllegalArgumentException("unknown block type " + p.blockType());
        };
    }

    /** w_b = round(w_out * bot_mul), groups = w_b // group_w, w_se = round(w_in * se_r) (Python rounding). */
    private static Seq bottleneck(NetBuilder b, AnyNetParams p, int wIn, int wOut, int stride, Double botMul,
                                  Integer groupW) {
        if (botMul == null || groupW == null) {
            throw new IllegalArgumentException(p.blockType() + " needs ANYNET.BOT_MULS and ANYNET.GROUP_WS per stage");
        }
        int wB = (int) Math.rint(wOut * botMul);
        int wSe = (int) Math.rint(wIn * p.seR());
        return PyclsBlocks.bottleneckTransform(b, wIn, wOut, stride, wB, wB / groupW, false, wSe);
    }
}
