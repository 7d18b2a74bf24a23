package ai.emaspark.data;

import org.opencv.core.Mat;

/**
 * An image read the way pycls holds it after loading: float32 RGB {@code b / 255}, HWC. Only the rectangle
 * a transform needs is converted, and, for JPEGs decoded by {@link NativeJpeg}, only that rectangle is decoded.
 */
public interface RgbImage extends AutoCloseable {
    int width();

    int height();

    /** Rows [y0, y1) and columns [x0, x1) as CV_32FC3 RGB into dst (re-created to that size, continuous). */
    void toRgbFloat(int y0, int y1, int x0, int x1, Mat dst);

    @Override
    void close();

    /**
     * Opens encoded bytes: 3-component YCbCr JPEGs (nearly all of ImageNet) lazily through {@link NativeJpeg}
     * when it is available, everything else decoded by OpenCV now.
     *
     * @throws UndecodableImageException if the bytes are not an image OpenCV can read, or exceed the limits
     */
    static RgbImage open(byte[] encoded, ImageLimits limits) {
        if (encoded == null || encoded.length == 0) {
            throw new UndecodableImageException("empty file");
        }
        limits.check(encoded);
        RgbImage jpeg = NativeJpegImage.open(encoded, limits);
        return jpeg != null ? jpeg : OpenCvImage.owning(PyclsTransforms.decode(encoded));
    }

    /** {@link #open(byte[], ImageLimits)} with the default limits. */
    static RgbImage open(byte[] encoded) {
        return open(encoded, ImageLimits.DEFAULT);
    }

    /** Which decoder {@link #open} uses for ordinary JPEGs, for logs and benchmark records. */
    static String decoder() {
        return NativeJpeg.available()
            ? "libjpeg-turbo " + NativeJpeg.libjpegTurboVersion() + " (native, crop region only)"
            : "OpenCV " + org.opencv.core.Core.VERSION + " imdecode (whole image)";
    }
}
