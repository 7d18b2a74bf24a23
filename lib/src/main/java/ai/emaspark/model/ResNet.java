package ai.emaspark.model;

/**
 * pycls's ResNe(X)t ({@code models/resnet.py}). ImageNet layout for depths 50, 101, 152 (7x7 stem,
 * four stages of RESNET.TRANS_FUN blocks with widths 256..2048, inner width NUM_GROUPS *
 * WIDTH_PER_GROUP doubling per stage); CIFAR layout for other depths 6n+2 (3x3 stem of 16, three
 * stages of n blocks, widths 16, 32, 64). pycls picks the layout from TRAIN.DATASET; here
 * TRAIN.DATASET is a path, so the depth decides.
 */
final class ResNet {
    private static final int[][] IMAGENET_STAGE_DEPTHS = {{50, 3, 4, 6, 3}, {101, 3, 4, 23, 3}, {152, 3, 8, 36, 3}};

    private ResNet() {
    }

    static boolean isImageNetDepth(int depth) {
        return imageNetStageDepths(depth) != null;
    }

    private static int[] imageNetStageDepths(int depth) {
        for (int[] row : IMAGENET_STAGE_DEPTHS) {
            if (row[0] == depth) {
                return new int[] {row[1], row[2], row[3], row[4]};
            }
        }
        return null;
    }

    static Seq build(NetBuilder b) {
        ModelSpec spec = b.spec();
        ResNetParams p = spec.resnet();
        int[] ds = imageNetStageDepths(spec.depth());
        Seq net = new Seq();
        if (ds == null) {
            if ((spec.depth() - 2) % 6 != 0 || spec.depth() < 8) {
                throw new IllegalArgumentException("ResNet depth must be 50, 101, 152 or 6n+2: " + spec.depth());
            }
            int d = (spec.depth() - 2) / 6;
            net.add("stem", PyclsBlocks.resStemCifar(b, 3, 16));
            net.add("s1", stage(b, 16, 16, 1, d, 0, 1));
            net.add("s2", stage(b, 16, 32, 2, d, 0, 1));
            net.add("s3", stage(b, 32, 64, 2, d, 0, 1));
            return net.add("head", PyclsBlocks.head(b, 64, 0, spec.numClasses()));
        }
        int g = p.numGroups();
        int wB = p.widthPerGroup() * g;
        net.add("stem", PyclsBlocks.resStemIn(b, 3, 64));
        net.add("s1", stage(b, 64, 256, 1, ds[0], wB, g));
        net.add("s2", stage(b, 256, 512, 2, ds[1], wB * 2, g));
        net.add("s3", stage(b, 512, 1024, 2, ds[2], wB * 4, g));
        net.add("s4", stage(b, 1024, 2048, 2, ds[3], wB * 8, g));
        return net.add("head", PyclsBlocks.head(b, 2048, 0, spec.numClasses()));
    }

    /** ResStage: d blocks b1..bd; stride and w_in apply to the first. wB 0: basic transform. */
    private static Seq stage(NetBuilder b, int wIn, int wOut, int stride, int d, int wB, int groups) {
        ResNetParams p = b.spec().resnet();
        Seq stage = new Seq();
        for (int i = 0; i < d; i++) {
            int blockIn = i == 0 ? wIn : wOut;
            int blockStride = i == 0 ? stride : 1;
            stage.add("b" + (i + 1), PyclsBlocks.residual(b, blockIn, wOut, blockStride,
                () -> p.bottleneck()
                    ? PyclsBlocks.bottleneckTransform(b, blockIn, wOut, blockStride, wB, groups, p.stride1x1(), 0)
                    : PyclsBlocks.basicTransform(b, blockIn, wOut, blockStride)));
        }
        return stage;
    }
}
