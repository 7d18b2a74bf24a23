package ai.emaspark.data;

import java.util.SplittableRandom;

/**
 * pycls's per-image input pipeline as a batch decoder: decode, then the train transform
 * (random-sized crop, flip, PCA lighting) with randomness drawn from (RNG_SEED, epoch, image key),
 * or the test transform (short side to TEST.IM_SIZE, centre crop TRAIN.IM_SIZE); normalised,
 * CHW, BGR channel order as pycls feeds its networks. See {@link PyclsTransforms}.
 */
public final class ImageTransform implements BatchLoader.Decoder {
    private final boolean train;
    private final int cropSize;
    private final int scaleSize;
    private final double pcaStd;
    private final long seed;
    private final int epoch;
    private final ImageLimits limits;

    private ImageTransform(boolean train, int cropSize, int scaleSize, double pcaStd, long seed, int epoch, ImageLimits limits) {
        this.train = train;
        this.cropSize = cropSize;
        this.scaleSize = scaleSize;
        this.pcaStd = pcaStd;
        this.seed = seed;
        this.epoch = epoch;
        this.limits = limits;
    }

    public static ImageTransform train(int imSize, double pcaStd, long seed, int epoch) {
        return new ImageTransform(true, imSize, imSize, pcaStd, seed, epoch, ImageLimits.DEFAULT);
    }

    public static ImageTransform test(int imSize, int testSize) {
        return new ImageTransform(false, imSize, testSize, 0, 0, 0, ImageLimits.DEFAULT);
    }

    /** The same transform, refusing images over {@code limits} before decoding them. */
    public ImageTransform withLimits(ImageLimits limits) {
        return new ImageTransform(train, cropSize, scaleSize, pcaStd, seed, epoch, limits);
    }

    @Override
    public int cropSize() {
        return cropSize;
    }

    /** @throws UndecodableImageException if the bytes are not an image OpenCV can read, or exceed the limits */
    @Override
    public void apply(String key, byte[] encoded, float[] out, int offset) {
        try (RgbImage image = RgbImage.open(encoded, limits)) {
            if (train) {
                SplittableRandom random = new SplittableRandom(Seeds.mix(seed, epoch, Seeds.ofKey(key)));
                PyclsTransforms.train(image, cropSize, pcaStd, random, out, offset);
            } else {
                PyclsTransforms.test(image, scaleSize, cropSize, out, offset);
            }
        }
    }
}
