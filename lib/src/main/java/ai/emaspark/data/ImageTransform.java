package ai.emaspark.data;

import java.util.SplittableRandom;
import org.opencv.core.Core;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Rect;
import org.opencv.core.Size;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * Decode and transform one image into a CHW float slot of a batch, in pycls's conventions: BGR
 * channel order (as cv2 reads), pixels scaled to [0, 1] then normalised by pycls's ImageNet mean and
 * std, bilinear resizing, EXIF orientation ignored. Train: short side to the crop size, centre crop,
 * horizontal flip with p = 0.5 drawn from (seed, epoch, image key). Test: short side to
 * TEST.IM_SIZE, centre crop TRAIN.IM_SIZE. (pycls's random-sized crop and lighting noise come with
 * the full input pipeline.)
 */
public final class ImageTransform implements BatchLoader.Decoder {
    /** pycls's ImageNet statistics, BGR order. */
    static final float[] MEAN = {0.406f, 0.456f, 0.485f};
    static final float[] STD = {0.225f, 0.224f, 0.229f};

    private final boolean train;
    private final int cropSize;
    private final int resizeSize;
    private final long seed;
    private final int epoch;

    private ImageTransform(boolean train, int cropSize, int resizeSize, long seed, int epoch) {
        this.train = train;
        this.cropSize = cropSize;
        this.resizeSize = resizeSize;
        this.seed = seed;
        this.epoch = epoch;
    }

    public static ImageTransform train(int imSize, long seed, int epoch) {
        return new ImageTransform(true, imSize, imSize, seed, epoch);
    }

    public static ImageTransform test(int imSize, int testSize) {
        return new ImageTransform(false, imSize, testSize, 0, 0);
    }

    @Override
    public int cropSize() {
        return cropSize;
    }

    /**
     * Decodes {@code encoded} and writes 3 x crop x crop floats at {@code out[offset]}.
     *
     * @throws UndecodableImageException if the bytes are not an image OpenCV can read
     */
    @Override
    public void apply(String key, byte[] encoded, float[] out, int offset) {
        if (encoded.length == 0) {
            throw new UndecodableImageException("empty file");
        }
        OpenCvLoader.load();
        MatOfByte raw = new MatOfByte(encoded);
        Mat image = Imgcodecs.imdecode(raw, Imgcodecs.IMREAD_COLOR | Imgcodecs.IMREAD_IGNORE_ORIENTATION);
        raw.release();
        try {
            if (image.empty()) {
                throw new UndecodableImageException("not a decodable image (" + encoded.length + " bytes)");
            }
            Mat cropped = resizeAndCrop(image);
            if (train && new SplittableRandom(Seeds.mix(seed, epoch, Seeds.ofKey(key))).nextDouble() < 0.5) {
                Core.flip(cropped, cropped, 1);
            }
            toChwFloats(cropped, out, offset);
            cropped.release();
        } finally {
            image.release();
        }
    }

    /** Short side to {@code resizeSize} (bilinear), then the centre {@code cropSize} square. */
    private Mat resizeAndCrop(Mat image) {
        int width = image.cols();
        int height = image.rows();
        int newWidth = width < height ? resizeSize : (int) Math.floor((double) width / height * resizeSize);
        int newHeight = width < height ? (int) Math.floor((double) height / width * resizeSize) : resizeSize;
        Mat resized = new Mat();
        Imgproc.resize(image, resized, new Size(newWidth, newHeight), 0, 0, Imgproc.INTER_LINEAR);
        int x = (int) Math.ceil((newWidth - cropSize) / 2.0);
        int y = (int) Math.ceil((newHeight - cropSize) / 2.0);
        Mat crop = resized.submat(new Rect(x, y, cropSize, cropSize)).clone();
        resized.release();
        return crop;
    }

    private void toChwFloats(Mat bgr, float[] out, int offset) {
        int pixels = cropSize * cropSize;
        byte[] bytes = new byte[pixels * 3];
        bgr.get(0, 0, bytes);
        for (int c = 0; c < 3; c++) {
            float mean = MEAN[c];
            float scale = 1f / STD[c];
            int base = offset + c * pixels;
            for (int p = 0; p < pixels; p++) {
                out[base + p] = ((bytes[p * 3 + c] & 0xff) / 255f - mean) * scale;
            }
        }
    }
}
