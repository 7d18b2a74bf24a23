package ai.emaspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.Mat;

class PyclsTransformsTest {
    private static final double[] EIG_VALS = {0.2175, 0.0188, 0.0045};
    private static final double[][] EIG_VECS = {
        {-0.5675, 0.7192, 0.4009}, {-0.5808, -0.0045, -0.8140}, {-0.5836, -0.6948, 0.4203}};

    @BeforeAll
    static void loadOpenCv() {
        OpenCvLoader.load();
    }

    // ---- random_sized_crop box ----

    /** The test's own transcription of pycls random_sized_crop's box choice. */
    private static PyclsTransforms.CropBox replayBox(int h, int w, SplittableRandom r) {
        for (int i = 0; i < 10; i++) {
            double targetArea = (0.08 + (1.0 - 0.08) * r.nextDouble()) * (h * w);
            double aspect = 0.75 + (4.0 / 3.0 - 0.75) * r.nextDouble();
            long wc = Math.round(Math.sqrt(targetArea * aspect));
            long hc = Math.round(Math.sqrt(targetArea / aspect));
            // Math.round is half-up; correct it to Python's half-even (exact .5 only).
            wc = halfEvenFix(Math.sqrt(targetArea * aspect), wc);
            hc = halfEvenFix(Math.sqrt(targetArea / aspect), hc);
            if (r.nextDouble() < 0.5) {
                long t = wc;
                wc = hc;
                hc = t;
            }
            if (hc <= h && wc <= w) {
                int y = hc == h ? 0 : r.nextInt((int) (h - hc));
                int x = wc == w ? 0 : r.nextInt((int) (w - wc));
                return new PyclsTransforms.CropBox(x, y, (int) wc, (int) hc);
            }
        }
        return null;
    }

    private static long halfEvenFix(double v, long roundedHalfUp) {
        boolean exactHalf = v - Math.floor(v) == 0.5;
        return exactHalf && (roundedHalfUp % 2 != 0) ? roundedHalfUp - 1 : roundedHalfUp;
    }

    @Test
    void cropBoxReplaysPyclsDrawsAndConsumesTheSameNumber() {
        int[][] dims = {{375, 500}, {500, 375}, {224, 224}, {3, 3}, {2, 7}, {64, 2000}};
        int fullHeight = 0;
        for (int[] d : dims) {
            for (long seed = 0; seed < 300; seed++) {
                SplittableRandom a = new SplittableRandom(seed);
                SplittableRandom b = new SplittableRandom(seed);
                PyclsTransforms.CropBox got = PyclsTransforms.randomSizedCropBox(d[0], d[1], a);
                PyclsTransforms.CropBox want = replayBox(d[0], d[1], b);
                assertEquals(want, got, "seed " + seed + " dims " + Arrays.toString(d));
                assertEquals(b.nextLong(), a.nextLong(), "draw count differs, seed " + seed);
                if (got != null) {
                    assertTrue(got.x() >= 0 && got.y() >= 0 && got.width() > 0 && got.height() > 0);
                    assertTrue(got.x() + got.width() <= d[1] && got.y() + got.height() <= d[0]);
                    fullHeight += got.height() == d[0] ? 1 : 0;
                }
            }
        }
        assertTrue(fullHeight > 0, "the no-randint branch (crop as tall as the image) was exercised");
    }

    @Test
    void cropBoxFirstTryByHand() {
        // 375x500, seed 7: one try written out with the three uniforms drawn explicitly.
        SplittableRandom draws = new SplittableRandom(7);
        double u1 = draws.nextDouble();
        double u2 = draws.nextDouble();
        double u3 = draws.nextDouble();
        double target = (0.08 + 0.92 * u1) * 187500;
        double aspect = 0.75 + (4.0 / 3.0 - 0.75) * u2;
        int w = (int) Math.rint(Math.sqrt(target * aspect));
        int h = (int) Math.rint(Math.sqrt(target / aspect));
        if (u3 < 0.5) {
            int t = w;
            w = h;
            h = t;
        }
        // This seed's first try fits (asserted), so y and x are the next two draws.
        assertTrue(h < 375 && w < 500, "seed 7 first try fits: " + w + "x" + h);
        int y = draws.nextInt(375 - h);
        int x = draws.nextInt(500 - w);
        assertEquals(new PyclsTransforms.CropBox(x, y, w, h),
            PyclsTransforms.randomSizedCropBox(375, 500, new SplittableRandom(7)));
    }

    @Test
    void cropBoxFallsBackWhenNothingFitsAfterTenTries() {
        // Smallest possible crop side is round(sqrt(0.08 * 10000 * 3/4)) = 24 > 10: no try can fit.
        SplittableRandom r = new SplittableRandom(123);
        assertNull(PyclsTransforms.randomSizedCropBox(1000, 10, r));
        SplittableRandom expected = new SplittableRandom(123);
        for (int i = 0; i < 30; i++) {
            expected.nextDouble();
        }
        assertEquals(expected.nextLong(), r.nextLong(), "exactly 10 x 3 uniforms consumed");
    }

    @Test
    void roundingIsPythonHalfToEven() {
        assertEquals(2, PyclsTransforms.pyRound(2.5));
        assertEquals(4, PyclsTransforms.pyRound(3.5));
        assertEquals(0, PyclsTransforms.pyRound(0.5));
        assertEquals(224, PyclsTransforms.pyRound(224.5));
        assertEquals(226, PyclsTransforms.pyRound(225.5));
        assertEquals(3, PyclsTransforms.pyRound(2.5000000001));
        assertEquals(2, PyclsTransforms.pyRound(2.4999999999));
    }

    @Test
    void cropBoxNeverZeroSizedOnTinyImages() {
        for (long seed = 0; seed < 200; seed++) {
            PyclsTransforms.CropBox b = PyclsTransforms.randomSizedCropBox(1, 1, new SplittableRandom(seed));
            assertTrue(b == null || b.equals(new PyclsTransforms.CropBox(0, 0, 1, 1)), String.valueOf(b));
        }
    }

    // ---- test transform ----

    @Test
    void testTransformWithoutResizeMatchesHandComputedValues() {
        // h == scaleSize on the short side: pycls does not resize; x = ceil((301 - 224) / 2) = 39, y = 16.
        Mat im = TestImages.image(256, 301, (y, x) -> y + 2 * x, (y, x) -> 3 * y + x + 7, (y, x) -> x * y);
        float[] out = new float[3 * 224 * 224];
        PyclsTransforms.test(im, 256, 224, out, 0);
        im.release();
        for (int i = 0; i < 224; i++) {
            for (int j = 0; j < 224; j++) {
                int y = 16 + i;
                int x = 39 + j;
                assertEquals(norm((y + 2 * x) & 0xff, 0.406f, 0.225f), TestImages.at(out, 224, 0, i, j));
                assertEquals(norm((3 * y + x + 7) & 0xff, 0.456f, 0.224f), TestImages.at(out, 224, 1, i, j));
                assertEquals(norm((x * y) & 0xff, 0.485f, 0.229f), TestImages.at(out, 224, 2, i, j));
            }
        }
        // Spot values worked out on paper: B(16,39) = 94 -> (94/255 - 0.406) / 0.225.
        assertEquals(-0.1661001, TestImages.at(out, 224, 0, 0, 0), 1e-6);
        // R(16+i, 39+j) = 0 needs x*y % 256 == 0: y=16, x=48 (j=9): 768 % 256 = 0 -> -0.485 / 0.229.
        assertEquals(-2.1179040, TestImages.at(out, 224, 2, 0, 9), 1e-6);
    }

    private static float norm(int byteValue, float mean, float std) {
        return (byteValue / 255f - mean) / std;
    }

    @Test
    void testTransformPortraitWithoutResizeUsesCeilOffsets() {
        // w == 256 < h: no resize; y = ceil((301 - 224) / 2) = 39, x = 0 + 16.
        Mat im = TestImages.image(301, 256, (y, x) -> y, (y, x) -> x, (y, x) -> 255);
        float[] out = new float[3 * 224 * 224];
        PyclsTransforms.test(im, 256, 224, out, 0);
        im.release();
        assertEquals(norm(39, 0.406f, 0.225f), TestImages.at(out, 224, 0, 0, 5));
        assertEquals(norm(39 + 100, 0.406f, 0.225f), TestImages.at(out, 224, 0, 100, 5));
        assertEquals(norm(16, 0.456f, 0.224f), TestImages.at(out, 224, 1, 7, 0));
        assertEquals(norm(16 + 223, 0.456f, 0.224f), TestImages.at(out, 224, 1, 7, 223));
        // R = 255 everywhere: (1 - 0.485) / 0.229.
        assertEquals(2.2489083f, TestImages.at(out, 224, 2, 50, 50), 1e-6f);
    }

    @Test
    void testTransformWithResizeMatchesReference() {
        int[][] dims = {{512, 600}, {375, 500}, {500, 375}, {333, 257}};
        for (int[] d : dims) {
            Mat im = TestImages.randomImage(d[0], d[1], d[0] * 31L + d[1]);
            float[] want = TestImages.networkInput(
                TestImages.scaleAndCenterCrop(TestImages.toFloat(im, 0, 0, d[0], d[1]), 256, 224), false, null);
            float[] out = new float[3 * 224 * 224 + 10];
            Arrays.fill(out, Float.NaN);
            PyclsTransforms.test(im, 256, 224, out, 7);
            im.release();
            assertArrayEquals(want, Arrays.copyOfRange(out, 7, 7 + want.length), Arrays.toString(d));
            assertTrue(Float.isNaN(out[6]) && Float.isNaN(out[7 + want.length]), "wrote outside its slot");
        }
    }

    @Test
    void testTransformRejectsCropLargerThanScale() {
        Mat im = TestImages.randomImage(300, 300, 1);
        assertThrows(IllegalArgumentException.class,
            () -> PyclsTransforms.test(im, 200, 224, new float[3 * 224 * 224], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> PyclsTransforms.test(im, 256, 224, new float[100], 0));
        im.release();
    }

    // ---- train transform ----

    /** Independent reference of the whole train transform for a seed (the box comes from the code under test). */
    private static float[] trainReference(Mat im, int size, double pcaStd, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        PyclsTransforms.CropBox box = PyclsTransforms.randomSizedCropBox(im.rows(), im.cols(), r);
        float[][][] crop;
        if (box == null) {
            crop = TestImages.scaleAndCenterCrop(TestImages.toFloat(im, 0, 0, im.rows(), im.cols()), size, size);
        } else {
            crop = TestImages.resize(TestImages.toFloat(im, box.y(), box.x(), box.height(), box.width()), size, size);
        }
        boolean flip = r.nextDouble() < 0.5;
        double[] rgb = lightingRgb(r, pcaStd);
        return TestImages.networkInput(crop, flip, pcaStd == 0 ? null : rgb);
    }

    /** pycls lighting offsets in RGB order: sum_j eig_vec[i][j] * alpha[j] * eig_val[j]. */
    private static double[] lightingRgb(SplittableRandom r, double pcaStd) {
        double a0 = r.nextGaussian() * pcaStd;
        double a1 = r.nextGaussian() * pcaStd;
        double a2 = r.nextGaussian() * pcaStd;
        double[] rgb = new double[3];
        for (int i = 0; i < 3; i++) {
            rgb[i] = EIG_VECS[i][0] * a0 * EIG_VALS[0] + EIG_VECS[i][1] * a1 * EIG_VALS[1]
                + EIG_VECS[i][2] * a2 * EIG_VALS[2];
        }
        return rgb;
    }

    /** First seed from start whose flip draw (after the crop draws) equals wantFlip. */
    private static long seedWithFlip(int h, int w, boolean wantFlip, boolean wantBox, long start) {
        for (long seed = start; ; seed++) {
            SplittableRandom r = new SplittableRandom(seed);
            boolean hasBox = PyclsTransforms.randomSizedCropBox(h, w, r) != null;
            if ((r.nextDouble() < 0.5) == wantFlip && hasBox == wantBox) {
                return seed;
            }
        }
    }

    @Test
    void trainWithoutPcaMatchesReferenceWithAndWithoutFlip() {
        Mat im = TestImages.randomImage(375, 500, 99);
        for (boolean flip : new boolean[] {false, true}) {
            long seed = seedWithFlip(375, 500, flip, true, 1000);
            float[] out = new float[2 * 3 * 224 * 224];
            PyclsTransforms.train(im, 224, 0.0, new SplittableRandom(seed), out, 3 * 224 * 224);
            float[] want = trainReference(im, 224, 0.0, seed);
            assertArrayEquals(want, Arrays.copyOfRange(out, 3 * 224 * 224, out.length), "flip=" + flip);
            assertTrue(allZero(out, 0, 3 * 224 * 224), "slot 0 untouched");
        }
        im.release();
    }

    private static boolean allZero(float[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            if (a[i] != 0f) {
                return false;
            }
        }
        return true;
    }

    @Test
    void trainFlipMirrorsColumns() {
        // 1000x10 always falls back to scale_and_center_crop, so both seeds crop the same region.
        Mat im = TestImages.randomImage(1000, 10, 5);
        int size = 32;
        long noFlip = seedWithFlip(1000, 10, false, false, 0);
        long flip = seedWithFlip(1000, 10, true, false, 0);
        float[] a = new float[3 * size * size];
        float[] b = new float[3 * size * size];
        PyclsTransforms.train(im, size, 0.0, new SplittableRandom(noFlip), a, 0);
        PyclsTransforms.train(im, size, 0.0, new SplittableRandom(flip), b, 0);
        assertArrayEquals(trainReference(im, size, 0.0, noFlip), a);
        assertArrayEquals(trainReference(im, size, 0.0, flip), b);
        boolean differs = false;
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    assertEquals(TestImages.at(a, size, c, y, x), TestImages.at(b, size, c, y, size - 1 - x));
                    differs |= TestImages.at(a, size, c, y, x) != TestImages.at(b, size, c, y, x);
                }
            }
        }
        assertTrue(differs, "the flipped output is not identical to the unflipped one");
        im.release();
    }

    @Test
    void trainLightingShiftsEachChannelByEigvecAlphaEigval() {
        Mat im = TestImages.image(375, 500, (y, x) -> 20, (y, x) -> 100, (y, x) -> 200);
        int size = 64;
        long seed = 4242;
        float[] plain = new float[3 * size * size];
        float[] lit = new float[3 * size * size];
        PyclsTransforms.train(im, size, 0.0, new SplittableRandom(seed), plain, 0);
        PyclsTransforms.train(im, size, 0.1, new SplittableRandom(seed), lit, 0);
        // Replay the draws by hand: crop tries, flip, then three gaussians.
        SplittableRandom r = new SplittableRandom(seed);
        PyclsTransforms.randomSizedCropBox(375, 500, r);
        r.nextDouble();
        double[] alpha = {r.nextGaussian() * 0.1, r.nextGaussian() * 0.1, r.nextGaussian() * 0.1};
        double red = -0.5675 * alpha[0] * 0.2175 + 0.7192 * alpha[1] * 0.0188 + 0.4009 * alpha[2] * 0.0045;
        double green = -0.5808 * alpha[0] * 0.2175 - 0.0045 * alpha[1] * 0.0188 - 0.8140 * alpha[2] * 0.0045;
        double blue = -0.5836 * alpha[0] * 0.2175 - 0.6948 * alpha[1] * 0.0188 + 0.4203 * alpha[2] * 0.0045;
        double[] shiftBgr = {blue, green, red};
        double[] stdBgr = {0.225, 0.224, 0.229};
        int[] valueBgr = {20, 100, 200};
        for (int c = 0; c < 3; c++) {
            assertTrue(Math.abs(shiftBgr[c]) > 1e-4, "seed gives a visible shift");
            for (int i = 0; i < size * size; i++) {
                int k = c * size * size + i;
                assertEquals(shiftBgr[c] / stdBgr[c], (double) lit[k] - plain[k], 2e-6, "channel " + c);
                double want = (valueBgr[c] / 255.0 + shiftBgr[c] - TestImages.MEAN_RGB[2 - c]) / stdBgr[c];
                assertEquals(want, lit[k], 2e-6);
            }
        }
        im.release();
    }

    /**
     * Crops smaller than the output are upscaled, where OpenCV's float resize rounds an element differently
     * depending on its position in the row: resizing BGR instead of pycls's RGB shows up here.
     */
    @Test
    void trainMatchesReferenceOnUpscaledCrops() {
        Mat im = TestImages.randomImage(375, 500, 23);
        int upscaled = 0;
        for (long seed = 0; seed < 12; seed++) {
            PyclsTransforms.CropBox box = PyclsTransforms.randomSizedCropBox(375, 500, new SplittableRandom(seed));
            if (box.width() >= 224 && box.height() >= 224) {
                continue;
            }
            upscaled++;
            float[] out = new float[3 * 224 * 224];
            PyclsTransforms.train(im, 224, 0.0, new SplittableRandom(seed), out, 0);
            assertArrayEquals(trainReference(im, 224, 0.0, seed), out, "seed " + seed + " " + box);
        }
        assertTrue(upscaled >= 2, "seeds include upscaled crops");
        im.release();
    }

    @Test
    void trainWithPcaMatchesReferenceExactly() {
        Mat im = TestImages.randomImage(500, 375, 17);
        for (long seed = 50; seed < 54; seed++) {
            float[] out = new float[3 * 224 * 224];
            PyclsTransforms.train(im, 224, 0.1, new SplittableRandom(seed), out, 0);
            assertArrayEquals(trainReference(im, 224, 0.1, seed), out, "seed " + seed);
        }
        im.release();
    }

    @Test
    void trainFallbackMatchesReference() {
        Mat im = TestImages.randomImage(1000, 10, 8);
        long seed = 3;
        float[] out = new float[3 * 48 * 48];
        PyclsTransforms.train(im, 48, 0.1, new SplittableRandom(seed), out, 0);
        assertArrayEquals(trainReference(im, 48, 0.1, seed), out);
        im.release();
    }

    @Test
    void trainRejectsNonBgrInput() {
        Mat gray = new Mat(10, 10, org.opencv.core.CvType.CV_8UC1);
        assertThrows(IllegalArgumentException.class,
            () -> PyclsTransforms.train(gray, 8, 0, new SplittableRandom(1), new float[3 * 64], 0));
        gray.release();
    }
}
