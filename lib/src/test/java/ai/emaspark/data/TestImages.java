package ai.emaspark.data;

import java.util.SplittableRandom;
import java.util.function.IntBinaryOperator;

import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * Test-side helpers: synthetic images and a straightforward per-pixel reference of pycls's pipeline that
 * shares no code with PyclsTransforms (only OpenCV's resize, which pycls itself calls).
 */
final class TestImages {
    /** RGB-order constants exactly as written in pycls. */
    static final double[] MEAN_RGB = {0.485, 0.456, 0.406};
    static final double[] STD_RGB = {0.229, 0.224, 0.225};

    private TestImages() {
    }

    /** BGR uint8 image whose channel c at (y, x) is fns[c].applyAsInt(y, x) & 0xff. */
    static Mat image(int h, int w, IntBinaryOperator blue, IntBinaryOperator green, IntBinaryOperator red) {
        OpenCvLoader.load();
        byte[] data = new byte[h * w * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                data[i] = (byte) blue.applyAsInt(y, x);
                data[i + 1] = (byte) green.applyAsInt(y, x);
                data[i + 2] = (byte) red.applyAsInt(y, x);
            }
        }
        Mat m = new Mat(h, w, CvType.CV_8UC3);
        m.put(0, 0, data);
        return m;
    }

    static Mat randomImage(int h, int w, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] data = new byte[h * w * 3];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) r.nextInt(256);
        }
        OpenCvLoader.load();
        Mat m = new Mat(h, w, CvType.CV_8UC3);
        m.put(0, 0, data);
        return m;
    }

    /** pycls: im.astype(float32) / 255 of the region, as an HWC float array (BGR kept, values per channel). */
    static float[][][] toFloat(Mat bgr, int y0, int x0, int h, int w) {
        byte[] row = new byte[w * 3];
        float[][][] f = new float[h][w][3];
        for (int y = 0; y < h; y++) {
            bgr.get(y0 + y, x0, row);
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    f[y][x][c] = (float) (row[x * 3 + c] & 0xff) / (float) 255;
                }
            }
        }
        return f;
    }

    /**
     * cv2.resize(im, (newW, newH), INTER_LINEAR) on the float image in RGB order, as pycls holds it (the
     * arrays here are BGR-indexed, so channels are swapped into and out of the Mat).
     */
    static float[][][] resize(float[][][] im, int newW, int newH) {
        int h = im.length;
        int w = im[0].length;
        Mat src = new Mat(h, w, CvType.CV_32FC3);
        float[] px = new float[3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                px[0] = im[y][x][2];
                px[1] = im[y][x][1];
                px[2] = im[y][x][0];
                src.put(y, x, px);
            }
        }
        Mat dst = new Mat();
        Imgproc.resize(src, dst, new Size(newW, newH), 0, 0, Imgproc.INTER_LINEAR);
        float[][][] out = new float[newH][newW][3];
        for (int y = 0; y < newH; y++) {
            for (int x = 0; x < newW; x++) {
                dst.get(y, x, px);
                out[y][x] = new float[] {px[2], px[1], px[0]};
            }
        }
        src.release();
        dst.release();
        return out;
    }

    /** pycls scale_and_center_crop, with plain loops for the crop. */
    static float[][][] scaleAndCenterCrop(float[][][] im, int scaleSize, int cropSize) {
        int h = im.length;
        int w = im[0].length;
        if (w < h && w != scaleSize) {
            h = (int) ((double) h / w * scaleSize);
            w = scaleSize;
            im = resize(im, w, h);
        } else if (h <= w && h != scaleSize) {
            w = (int) ((double) w / h * scaleSize);
            h = scaleSize;
            im = resize(im, w, h);
        }
        int x0 = (int) Math.ceil((w - cropSize) / 2.0);
        int y0 = (int) Math.ceil((h - cropSize) / 2.0);
        float[][][] out = new float[cropSize][cropSize][];
        for (int y = 0; y < cropSize; y++) {
            for (int x = 0; x < cropSize; x++) {
                out[y][x] = im[y0 + y][x0 + x];
            }
        }
        return out;
    }

    /**
     * The network input pycls builds from a float HWC BGR image: optional flip, optional lighting (rgbShift in
     * RGB order, float64 add then float32 store as numpy 2), color_norm in float32, then CHW with BGR order.
     */
    static float[] networkInput(float[][][] im, boolean flip, double[] rgbShift) {
        int n = im.length;
        float[] out = new float[3 * n * n];
        for (int bgrC = 0; bgrC < 3; bgrC++) {
            int rgbC = 2 - bgrC;
            for (int y = 0; y < n; y++) {
                for (int x = 0; x < n; x++) {
                    float v = im[y][flip ? n - 1 - x : x][bgrC];
                    if (rgbShift != null) {
                        v = (float) ((double) v + rgbShift[rgbC]);
                    }
                    v = v - (float) MEAN_RGB[rgbC];
                    v = v / (float) STD_RGB[rgbC];
                    out[(bgrC * n + y) * n + x] = v;
                }
            }
        }
        return out;
    }

    static float at(float[] chw, int size, int channel, int y, int x) {
        return chw[(channel * size + y) * size + x];
    }
}
