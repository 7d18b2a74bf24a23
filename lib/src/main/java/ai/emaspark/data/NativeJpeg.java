package ai.emaspark.data;

import java.io.File;
import java.net.URL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libjpeg-turbo through a small JNI library of ours ({@code lib/src/main/native}): decodes only the rows
 * and columns a training crop needs, straight to pycls's float32 RGB, with the same pixels as a full
 * decode by OpenCV. A crop of half the image costs about 70% of a full decode.
 *
 * <p>Optional: when the library was not built (no gcc or libjpeg-turbo at build time), is not for this
 * platform, or {@code -Demaspark.nativeJpeg=false} is set, {@link #available()} is false and callers
 * decode with OpenCV.
 */
final class NativeJpeg {
    private static final Logger LOG = LoggerFactory.getLogger(NativeJpeg.class);
    private static final String LIBRARY = "/ai/emaspark/native/linux-x86_64/libemaspark_jpeg.so";
    private static final boolean AVAILABLE = load();

    private NativeJpeg() {
    }

    static boolean available() {
        return AVAILABLE;
    }

    private static boolean load() {
        if (!Boolean.parseBoolean(System.getProperty("emaspark.nativeJpeg", "true"))) {
            LOG.info("native JPEG decoder disabled by -Demaspark.nativeJpeg=false; decoding with OpenCV");
            return false;
        }
        if (!"linux-x86_64".equals(org.bytedeco.javacpp.Loader.getPlatform())) {
            return false;
        }
        URL resource = NativeJpeg.class.getResource(LIBRARY);
        if (resource == null) {
            LOG.warn("native JPEG decoder not in this build (see lib/src/main/native/build.sh); decoding with OpenCV");
            return false;
        }
        try {
            // JavaCPP's cache (one extracted copy per jar version, shared by the JVMs of a host).
            File file = org.bytedeco.javacpp.Loader.cacheResource(resource);
            System.load(file.getAbsolutePath());
            LOG.info("native JPEG decoder loaded: libjpeg-turbo {}, decoding only the rows and columns a crop needs",
                libjpegTurboVersion());
            return true;
        } catch (Exception | UnsatisfiedLinkError e) {
            LOG.warn("native JPEG decoder failed to load ({}); decoding with OpenCV", e.toString());
            return false;
        }
    }

    /** The libjpeg-turbo version linked into the library. */
    static native String libjpegTurboVersion();

    /**
     * Reads the header into dims = {width, height}; true when the image is a 3-component YCbCr JPEG, which
     * {@link #decodeRgbFloat} handles. False for anything else (grayscale, CMYK, PNG, garbage): decode
     * that with OpenCV.
     */
    static native boolean header(byte[] encoded, int[] dims);

    /**
     * Decodes rows [y, y + h) and columns [x, x + w) to float32 RGB {@code b / 255f}, HWC, at native address
     * dst with dstStep bytes per row; libjpeg may use at most maxMemory bytes and read at most maxScans scans.
     *
     * @throws UndecodableImageException on a fatal libjpeg error or a limit exceeded
     */
    static native void decodeRgbFloat(byte[] encoded, int x, int y, int w, int h, long dst, long dstStep, long maxMemory,
                                      int maxScans);

    /**
     * pycls's last steps on a size x size float32 RGB HWC image at src (srcStep bytes per row): optional
     * horizontal flip, lighting (float64 shift per RGB channel, null for none), color_norm in float32, then
     * CHW in B, G, R order into out[offset ...].
     */
    static native void writeNetworkInput(long src, long srcStep, int size, boolean flip, double[] shiftRgb,
                                         float[] meanRgb, float[] stdRgb, float[] out, int offset);
}
