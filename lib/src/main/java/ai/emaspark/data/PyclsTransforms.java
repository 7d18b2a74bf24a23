package ai.emaspark.data;

import java.util.Objects;
import java.util.SplittableRandom;

import org.opencv.core.Core;
import org.opencv.core.CvException;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Size;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * pycls's ImageNet transforms ({@code imagenet.py _prepare_im}, {@code transforms.py}) in Java + OpenCV.
 *
 * <p>Numerics follow pycls's float32 pipeline exactly: bytes become {@code b / 255f} before resizing,
 * resizing is OpenCV INTER_LINEAR on an RGB CV_32FC3 image, and normalisation is {@code (v - mean) / std}
 * in float32. The RGB order matters even though every step is per channel: OpenCV's float resize rounds
 * an element differently depending on whether it falls in a SIMD block or the scalar tail of a row, so
 * resizing BGR instead of RGB changes a few last bits.
 *
 * <p>Output layout: {@code 3 * size * size} floats, CHW, channel order B, G, R (the network input).
 */
public final class PyclsTransforms {
    /** pycls _MEAN / _STD, RGB order; float32 because numpy applies a Python float to a float32 array as float32. */
    private static final float[] MEAN_RGB = {0.485f, 0.456f, 0.406f};
    private static final float[] STD_RGB = {0.229f, 0.224f, 0.225f};
    /** pycls _EIG_VALS / _EIG_VECS, RGB order, float64 as in numpy. */
    private static final double[] EIG_VALS = {0.2175, 0.0188, 0.0045};
    private static final double[][] EIG_VECS = {
        {-0.5675, 0.7192, 0.4009}, {-0.5808, -0.0045, -0.8140}, {-0.5836, -0.6948, 0.4203}};

    private static final double AREA_FRAC = 0.08;
    private static final int MAX_ITER = 10;
    private static final int DECODE_FLAGS = Imgcodecs.IMREAD_COLOR | Imgcodecs.IMREAD_IGNORE_ORIENTATION;

    /** Per-thread native and Java buffers, so a steady stream of images allocates nothing large per image. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private PyclsTransforms() {
    }

    /** Crop rectangle in source pixel coordinates. */
    public record CropBox(int x, int y, int width, int height) {
    }

    /**
     * Decodes JPEG/PNG/... bytes to a BGR uint8 Mat (caller releases it). EXIF orientation is ignored, as
     * torchvision/Pillow do. Throws {@link UndecodableImageException} for null/empty bytes or when OpenCV fails.
     */
    public static Mat decode(byte[] encoded) {
        if (encoded == null || encoded.length == 0) {
            throw new UndecodableImageException("empty file");
        }
        OpenCvLoader.load();
        MatOfByte buf = new MatOfByte(encoded);
        try {
            Mat im = Imgcodecs.imdecode(buf, DECODE_FLAGS);
            if (im.empty()) {
                im.release();
                throw new UndecodableImageException("not a decodable image (" + encoded.length + " bytes)");
            }
            return im;
        } catch (CvException e) {
            throw new UndecodableImageException("OpenCV error: " + e.getMessage());
        } finally {
            buf.release();
        }
    }

    /**
     * The crop box of pycls {@code random_sized_crop}, or null when all tries fail and pycls falls back to
     * {@code scale_and_center_crop}. Draws, per try: uniform area, uniform aspect, uniform swap, then
     * randint y and randint x only when needed, exactly as pycls does with numpy.
     */
    public static CropBox randomSizedCropBox(int height, int width, SplittableRandom random) {
        double area = (double) height * width;
        for (int i = 0; i < MAX_ITER; i++) {
            double targetArea = uniform(random, AREA_FRAC, 1.0) * area;
            double aspectRatio = uniform(random, 3.0 / 4.0, 4.0 / 3.0);
            long wCrop = pyRound(Math.sqrt(targetArea * aspectRatio));
            long hCrop = pyRound(Math.sqrt(targetArea / aspectRatio));
            if (random.nextDouble() < 0.5) {
                long t = wCrop;
                wCrop = hCrop;
                hCrop = t;
            }
            // A zero-sized crop (images of a few pixels) would make pycls's cv2.resize throw; try again instead.
            if (hCrop <= height && wCrop <= width && hCrop > 0 && wCrop > 0) {
                int y = hCrop == height ? 0 : random.nextInt(height - (int) hCrop);
                int x = wCrop == width ? 0 : random.nextInt(width - (int) wCrop);
                return new CropBox(x, y, (int) wCrop, (int) hCrop);
            }
        }
        return null;
    }

    /**
     * pycls train transform: random_sized_crop to size x size, horizontal_flip(0.5), lighting(pcaStd),
     * color_norm; writes 3*size*size floats (CHW, BGR) at out[offset].
     */
    public static void train(RgbImage image, int size, double pcaStd, SplittableRandom random, float[] out,
                             int offset) {
        checkArgs(size, out, offset);
        Scratch s = SCRATCH.get();
        try {
            CropBox box = randomSizedCropBox(image.height(), image.width(), random);
            Mat hwc = box == null ? scaleAndCenterCrop(image, size, size, s) : cropAndResize(image, box, size, s);
            boolean flip = random.nextDouble() < 0.5;
            writeNetworkInput(hwc, size, flip, lightingShiftRgb(pcaStd, random), s, out, offset);
        } finally {
            s.trim();
        }
    }

    /** {@link #train(RgbImage, int, double, SplittableRandom, float[], int)} of a decoded BGR uint8 image. */
    public static void train(Mat bgr, int size, double pcaStd, SplittableRandom random, float[] out, int offset) {
        checkImage(bgr);
        train(OpenCvImage.borrowing(bgr), size, pcaStd, random, out, offset);
    }

    /** pycls test transform: scale short side to scaleSize, centre crop cropSize; same output layout as train. */
    public static void test(RgbImage image, int scaleSize, int cropSize, float[] out, int offset) {
        checkArgs(cropSize, out, offset);
        if (scaleSize < cropSize) {
            throw new IllegalArgumentException("scaleSize " + scaleSize + " < cropSize " + cropSize);
        }
        Scratch s = SCRATCH.get();
        try {
            writeNetworkInput(scaleAndCenterCrop(image, scaleSize, cropSize, s), cropSize, false, null, s, out,
                offset);
        } finally {
            s.trim();
        }
    }

    /** {@link #test(RgbImage, int, int, float[], int)} of a decoded BGR uint8 image. */
    public static void test(Mat bgr, int scaleSize, int cropSize, float[] out, int offset) {
        checkImage(bgr);
        test(OpenCvImage.borrowing(bgr), scaleSize, cropSize, out, offset);
    }

    /** Python 3 round(): half to even. */
    static long pyRound(double v) {
        return (long) Math.rint(v);
    }

    private static double uniform(SplittableRandom random, double low, double high) {
        return low + (high - low) * random.nextDouble();
    }

    private static void checkImage(Mat bgr) {
        OpenCvLoader.load();
        if (bgr.type() != CvType.CV_8UC3 || bgr.empty()) {
            throw new IllegalArgumentException("expected a non-empty CV_8UC3 image, got " + bgr);
        }
    }

    private static void checkArgs(int size, float[] out, int offset) {
        OpenCvLoader.load();
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        Objects.checkFromIndexSize(offset, 3 * size * size, out.length);
    }

    /** Converts only the crop to float (same values as converting everything), then resizes it as pycls does. */
    private static Mat cropAndResize(RgbImage image, CropBox box, int size, Scratch s) {
        image.toRgbFloat(box.y(), box.y() + box.height(), box.x(), box.x() + box.width(), s.cropF);
        Imgproc.resize(s.cropF, s.resized, new Size(size, size), 0, 0, Imgproc.INTER_LINEAR);
        return s.resized;
    }

    /** pycls scale_and_center_crop; returns the cropSize x cropSize float crop (maybe a view of scratch). */
    private static Mat scaleAndCenterCrop(RgbImage image, int scaleSize, int cropSize, Scratch s) {
        int h = image.height();
        int w = image.width();
        int nw = w;
        int nh = h;
        // Same expressions and evaluation order as pycls: int(h / w * scale_size) truncates a float64.
        if (w < h && w != scaleSize) {
            nw = scaleSize;
            nh = (int) ((double) h / w * scaleSize);
        } else if (h <= w && h != scaleSize) {
            nw = (int) ((double) w / h * scaleSize);
            nh = scaleSize;
        }
        int x = (int) Math.ceil((nw - cropSize) / 2.0);
        int y = (int) Math.ceil((nh - cropSize) / 2.0);
        if (x < 0 || y < 0) {
            throw new IllegalArgumentException("image " + w + "x" + h + " smaller than crop " + cropSize);
        }
        if (nw == w && nh == h) {
            // No resize: converting the crop alone gives the same values as converting everything.
            image.toRgbFloat(y, y + cropSize, x, x + cropSize, s.cropF);
            return s.cropF;
        }
        // The resize reads the whole image, so the whole image is converted to float first.
        image.toRgbFloat(0, h, 0, w, s.fullF);
        Imgproc.resize(s.fullF, s.resized, new Size(nw, nh), 0, 0, Imgproc.INTER_LINEAR);
        s.centre.release();
        s.centre = s.resized.submat(y, y + cropSize, x, x + cropSize);
        return s.centre;
    }

    /**
     * pycls lighting: rgb[i] = sum_j eig_vec[i][j] * alpha[j] * eig_val[j], computed in float64 in numpy's
     * order; null when pcaStd is 0 (pycls would add exact zeros). The three gaussians are always drawn so
     * the random stream does not depend on pcaStd.
     */
    private static double[] lightingShiftRgb(double pcaStd, SplittableRandom random) {
        double[] alpha = new double[3];
        for (int j = 0; j < 3; j++) {
            alpha[j] = random.nextGaussian() * pcaStd;
        }
        if (pcaStd == 0) {
            return null;
        }
        double[] rgb = new double[3];
        for (int i = 0; i < 3; i++) {
            double sum = 0;
            for (int j = 0; j < 3; j++) {
                sum += EIG_VECS[i][j] * alpha[j] * EIG_VALS[j];
            }
            rgb[i] = sum;
        }
        return rgb;
    }

    /**
     * horizontal_flip, lighting, color_norm and HWC/RGB to CHW/BGR into out[offset]: one native pass when
     * {@link NativeJpeg} is loaded, else OpenCV + Java below (same values).
     */
    private static void writeNetworkInput(Mat hwc, int size, boolean flip, double[] shiftRgb, Scratch s,
                                          float[] out, int offset) {
        if (NativeJpeg.available()) {
            NativeJpeg.writeNetworkInput(hwc.dataAddr(), hwc.step1(0) * hwc.elemSize1(), size, flip, shiftRgb,
                MEAN_RGB, STD_RGB, out, offset);
        } else {
            writeNetworkInputJava(hwc, size, flip, shiftRgb, s, out, offset);
        }
    }

    /**
     * The transpose is native: a continuous HWC Mat viewed as (size*size) x 3 and transposed is exactly the
     * three planes R, G, B, so the Java loops below run over contiguous arrays and vectorise; plane R lands
     * in output channel 2.
     */
    static void writeNetworkInputJava(Mat hwc, int size, boolean flip, double[] shiftRgb, Scratch s,
                                      float[] out, int offset) {
        if (flip) {
            Core.flip(hwc, s.flipped, 1);
            hwc = s.flipped;
        } else if (!hwc.isContinuous()) {
            hwc.copyTo(s.flipped);
            hwc = s.flipped;
        }
        Mat pixelRows = hwc.reshape(1, size * size);
        try {
            Core.transpose(pixelRows, s.chw);
        } finally {
            pixelRows.release();
        }
        float[] planes = s.pixels(size);
        s.chw.get(0, 0, planes);
        int plane = size * size;
        for (int c = 0; c < 3; c++) {
            int dst = offset + (2 - c) * plane;
            if (shiftRgb == null) {
                normalise(planes, c * plane, plane, MEAN_RGB[c], STD_RGB[c], out, dst);
            } else {
                normaliseShifted(planes, c * plane, plane, shiftRgb[c], MEAN_RGB[c], STD_RGB[c], out, dst);
            }
        }
    }

    /** color_norm in float32, as numpy with Python-float scalars: (v - mean) / std, a true division. */
    private static void normalise(float[] src, int from, int n, float mean, float std, float[] out, int dst) {
        for (int i = 0; i < n; i++) {
            out[dst + i] = (src[from + i] - mean) / std;
        }
    }

    /**
     * lighting then color_norm. numpy 2 computes float32 array + float64 scalar in float64 and stores float32;
     * numpy 1 added in float32 instead, which differs in the last bit for a few percent of values.
     */
    private static void normaliseShifted(float[] src, int from, int n, double shift, float mean, float std,
                                         float[] out, int dst) {
        for (int i = 0; i < n; i++) {
            float v = (float) (src[from + i] + shift);
            out[dst + i] = (v - mean) / std;
        }
    }

    /** Mats above this are freed after each image so one huge image does not pin memory per thread. */
    static final long RETAIN_BYTES = 32L << 20;

    /** Reusable per-thread buffers; Mats are created once per thread and only re-sized by OpenCV. */
    static final class Scratch {
        final Mat cropF = new Mat();
        final Mat fullF = new Mat();
        final Mat resized = new Mat();
        final Mat flipped = new Mat();
        final Mat chw = new Mat();
        /** View of the centre crop inside {@link #resized}. */
        Mat centre = new Mat();
        private float[] pixels = new float[0];

        float[] pixels(int size) {
            int n = 3 * size * size;
            if (pixels.length != n) {
                pixels = new float[n];
            }
            return pixels;
        }

        void trim() {
            trim(cropF);
            trim(fullF);
            trim(resized);
            trim(flipped);
            trim(chw);
        }

        private static void trim(Mat m) {
            if (m.total() * m.elemSize() > RETAIN_BYTES) {
                m.release();
            }
        }
    }
}
