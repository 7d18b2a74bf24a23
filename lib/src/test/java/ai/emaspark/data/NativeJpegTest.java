package ai.emaspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.MatOfInt;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * The native region decoder and output pass against OpenCV's full decode and the Java output pass: the
 * same bits for every JPEG flavour, rectangle and option, and OpenCV for what it does not handle.
 */
class NativeJpegTest {
    private static final int[] SAMPLINGS = {
        Imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_420, Imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_422,
        Imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_444, Imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_440,
        Imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_411};
    private static final int[][] SIZES = {{375, 500}, {251, 333}, {9, 17}, {1, 1}, {16, 16}, {37, 1201}, {640, 48}};

    @BeforeAll
    static void nativeLibraryIsBuilt() {
        OpenCvLoader.load();
        if ("linux-x86_64".equals(org.bytedeco.javacpp.Loader.getPlatform())) {
            assertTrue(NativeJpeg.available(), "native JPEG decoder missing: see what lib/src/main/native/build.sh "
                + "printed during the build (needs gcc and libjpeg62-turbo-dev)");
        }
    }

    /** Smooth colour ramps plus noise: like a photo, exercising every subsampled chroma phase. */
    private static Mat photoLike(int h, int w, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return TestImages.image(h, w,
            (y, x) -> (x * 255 / Math.max(1, w - 1)) + r.nextInt(40),
            (y, x) -> (y * 255 / Math.max(1, h - 1)) ^ r.nextInt(64),
            (y, x) -> ((x + y) * 3) + r.nextInt(20));
    }

    private static byte[] jpeg(Mat im, int sampling, boolean progressive, int restartInterval) {
        MatOfByte buf = new MatOfByte();
        MatOfInt params = new MatOfInt(Imgcodecs.IMWRITE_JPEG_QUALITY, 90, Imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR,
            sampling, Imgcodecs.IMWRITE_JPEG_PROGRESSIVE, progressive ? 1 : 0, Imgcodecs.IMWRITE_JPEG_RST_INTERVAL,
            restartInterval);
        assertTrue(Imgcodecs.imencode(".jpg", im, buf, params));
        return buf.toArray();
    }

    private static float[] floats(Mat m) {
        float[] f = new float[(int) m.total() * m.channels()];
        m.get(0, 0, f);
        return f;
    }

    private static void assertSameRegion(byte[] jpeg, int y0, int y1, int x0, int x1, String what) {
        Mat viaNative = new Mat();
        Mat viaOpenCv = new Mat();
        try (RgbImage fast = NativeJpegImage.open(jpeg);
             RgbImage full = OpenCvImage.owning(PyclsTransforms.decode(jpeg))) {
            assertInstanceOf(NativeJpegImage.class, fast, what);
            assertEquals(full.width(), fast.width(), what);
            assertEquals(full.height(), fast.height(), what);
            fast.toRgbFloat(y0, y1, x0, x1, viaNative);
            full.toRgbFloat(y0, y1, x0, x1, viaOpenCv);
            assertArrayEquals(floats(viaOpenCv), floats(viaNative),
                what + " region rows " + y0 + ".." + y1 + " cols " + x0 + ".." + x1);
        } finally {
            viaNative.release();
            viaOpenCv.release();
        }
    }

    @Test
    void regionsMatchOpenCvFullDecodeForEveryFlavour() {
        SplittableRandom r = new SplittableRandom(11);
        int cases = 0;
        for (int[] size : SIZES) {
            int h = size[0];
            int w = size[1];
            Mat im = photoLike(h, w, h * 31L + w);
            for (int sampling : SAMPLINGS) {
                for (boolean progressive : new boolean[] {false, true}) {
                    int restart = r.nextInt(3) == 0 ? 1 + r.nextInt(4) : 0;
                    byte[] jpeg = jpeg(im, sampling, progressive, restart);
                    String what = w + "x" + h + " sampling 0x" + Integer.toHexString(sampling)
                        + (progressive ? " progressive" : " baseline") + " restart " + restart;
                    assertSameRegion(jpeg, 0, h, 0, w, what);
                    for (int i = 0; i < 6; i++) {
                        int y0 = r.nextInt(h);
                        int x0 = r.nextInt(w);
                        assertSameRegion(jpeg, y0, y0 + 1 + r.nextInt(h - y0), x0, x0 + 1 + r.nextInt(w - x0), what);
                        cases++;
                    }
                    // Edges: last row and column alone, and regions starting right on / past iMCU boundaries.
                    assertSameRegion(jpeg, h - 1, h, w - 1, w, what);
                    if (h > 33 && w > 33) {
                        assertSameRegion(jpeg, 16, 33, 16, 33, what);
                        assertSameRegion(jpeg, 17, h, 15, w - 1, what);
                    }
                }
            }
            im.release();
        }
        assertTrue(cases > 300, "cases " + cases);
    }

    @Test
    void trainAndTestOutputsMatchTheOpenCvPath() {
        Mat im = photoLike(375, 500, 5);
        byte[] jpeg = jpeg(im, Imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_420, false, 0);
        Mat decoded = PyclsTransforms.decode(jpeg);
        int size = 64;
        float[] fast = new float[3 * size * size];
        float[] full = new float[3 * size * size];
        for (int seed = 0; seed < 60; seed++) {
            try (RgbImage image = RgbImage.open(jpeg)) {
                PyclsTransforms.train(image, size, 0.1, new SplittableRandom(seed), fast, 0);
            }
            PyclsTransforms.train(decoded, size, 0.1, new SplittableRandom(seed), full, 0);
            assertArrayEquals(full, fast, "train seed " + seed);
        }
        try (RgbImage image = RgbImage.open(jpeg)) {
            PyclsTransforms.test(image, 80, size, fast, 0);
        }
        PyclsTransforms.test(decoded, 80, size, full, 0);
        assertArrayEquals(full, fast, "test");
        decoded.release();
        im.release();
    }

    @Test
    void nativeOutputPassMatchesJava() {
        SplittableRandom r = new SplittableRandom(3);
        int size = 37;
        Mat big = new Mat(size + 5, size + 9, CvType.CV_32FC3);
        float[] values = new float[(int) big.total() * 3];
        for (int i = 0; i < values.length; i++) {
            values[i] = r.nextInt(5) == 0 ? r.nextInt(256) / 255f : (float) r.nextDouble(-0.01, 1.01);
        }
        big.put(0, 0, values);
        Mat roi = big.submat(3, 3 + size, 4, 4 + size); // not continuous, as a centre crop view
        Mat continuous = new Mat();
        roi.copyTo(continuous);
        PyclsTransforms.Scratch scratch = new PyclsTransforms.Scratch();
        float[] mean = {0.485f, 0.456f, 0.406f};
        float[] std = {0.229f, 0.224f, 0.225f};
        for (Mat hwc : new Mat[] {roi, continuous}) {
            for (boolean flip : new boolean[] {false, true}) {
                for (double[] shift : new double[][] {null, {0.0123456789, -0.0213, 0.031}}) {
                    float[] viaNative = new float[3 * size * size + 5];
                    float[] viaJava = new float[3 * size * size + 5];
                    NativeJpeg.writeNetworkInput(hwc.dataAddr(), hwc.step1(0) * hwc.elemSize1(), size, flip, shift,
                        mean, std, viaNative, 5);
                    PyclsTransforms.writeNetworkInputJava(hwc, size, flip, shift, scratch, viaJava, 5);
                    assertArrayEquals(viaJava, viaNative, "flip " + flip + " shift " + Arrays.toString(shift));
                }
            }
        }
        roi.release();
        big.release();
        continuous.release();
    }

    @Test
    void otherImagesGoToOpenCv() throws java.io.IOException {
        Mat colour = photoLike(20, 30, 1);
        Mat gray = new Mat();
        org.opencv.imgproc.Imgproc.cvtColor(colour, gray, org.opencv.imgproc.Imgproc.COLOR_BGR2GRAY);
        MatOfByte buf = new MatOfByte();
        Imgcodecs.imencode(".jpg", gray, buf);
        assertNull(NativeJpegImage.open(buf.toArray()), "grayscale JPEG");
        assertInstanceOf(OpenCvImage.class, RgbImage.open(buf.toArray()));
        Imgcodecs.imencode(".png", colour, buf);
        assertNull(NativeJpegImage.open(buf.toArray()), "PNG");
        assertNull(NativeJpegImage.open(PyclsDecodeTest.cmykJpeg(0)), "CMYK JPEG");
        assertNull(NativeJpegImage.open(new byte[0]), "empty");
        byte[] garbage = new byte[512];
        new SplittableRandom(2).nextBytes(garbage);
        assertNull(NativeJpegImage.open(garbage), "garbage");
        assertThrows(UndecodableImageException.class, () -> RgbImage.open(garbage));
        colour.release();
        gray.release();
    }

    @Test
    void dataEndingEarlyFailsAsInOpenCv() {
        Mat im = photoLike(64, 80, 9);
        byte[] jpeg = jpeg(im, Imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_420, false, 0);
        byte[] cut = Arrays.copyOf(jpeg, jpeg.length * 2 / 3);
        assertThrows(UndecodableImageException.class, () -> PyclsTransforms.decode(cut));
        RgbImage image = NativeJpegImage.open(cut);
        Mat dst = new Mat();
        assertThrows(UndecodableImageException.class, () -> image.toRgbFloat(0, 64, 0, 80, dst));
        // The scan header alone: no entropy-coded data at all.
        byte[] headerOnly = Arrays.copyOf(jpeg, sosOffset(jpeg) + 14);
        RgbImage empty = NativeJpegImage.open(headerOnly);
        assertThrows(UndecodableImageException.class, () -> empty.toRgbFloat(0, 1, 0, 1, dst));
        // A region outside the image is the caller's bug, reported as such.
        RgbImage whole = NativeJpegImage.open(jpeg);
        assertThrows(UndecodableImageException.class, () -> whole.toRgbFloat(0, 65, 0, 80, dst));
        dst.release();
        im.release();
    }

    private static int sosOffset(byte[] jpeg) {
        for (int i = 2; i + 1 < jpeg.length; i++) {
            if ((jpeg[i] & 0xff) == 0xFF && (jpeg[i + 1] & 0xff) == 0xDA) {
                return i;
            }
        }
        throw new AssertionError("no SOS marker");
    }
}
