package ai.emaspark.data;

import org.opencv.core.CvType;
import org.opencv.core.Mat;

/** A JPEG whose header has been read; regions are decoded on request by {@link NativeJpeg}. */
final class NativeJpegImage implements RgbImage {
    private final byte[] encoded;
    private final int width;
    private final int height;
    private final ImageLimits limits;

    private NativeJpegImage(byte[] encoded, int width, int height, ImageLimits limits) {
        this.encoded = encoded;
        this.width = width;
        this.height = height;
        this.limits = limits;
    }

    /** {@link #open(byte[], ImageLimits)} with the default limits. */
    static NativeJpegImage open(byte[] encoded) {
        return open(encoded, ImageLimits.DEFAULT);
    }

    /** The image, or null when the native decoder is unavailable or does not handle these bytes. */
    static NativeJpegImage open(byte[] encoded, ImageLimits limits) {
        if (!NativeJpeg.available() || encoded == null || encoded.length == 0) {
            return null;
        }
        int[] dims = new int[2];
        if (!NativeJpeg.header(encoded, dims) || dims[0] <= 0 || dims[1] <= 0) {
            return null;
        }
        return new NativeJpegImage(encoded, dims[0], dims[1], limits);
    }

    @Override
    public int width() {
        return width;
    }

    @Override
    public int height() {
        return height;
    }

    @Override
    public void toRgbFloat(int y0, int y1, int x0, int x1, Mat dst) {
        OpenCvLoader.load();
        dst.create(y1 - y0, x1 - x0, CvType.CV_32FC3);
        NativeJpeg.decodeRgbFloat(encoded, x0, y0, x1 - x0, y1 - y0, dst.dataAddr(), dst.step1(0) * dst.elemSize1(),
                limits.maxDecoderMemory(), limits.maxScans());
    }

    @Override
    public void close() {
        // nothing native is held between calls
    }
}
