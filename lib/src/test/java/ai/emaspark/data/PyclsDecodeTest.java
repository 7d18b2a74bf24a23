package ai.emaspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.SplittableRandom;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.MatOfInt;
import org.opencv.imgcodecs.Imgcodecs;

class PyclsDecodeTest {
    @BeforeAll
    static void loadOpenCv() {
        OpenCvLoader.load();
    }

    private static byte[] encode(Mat im, String ext, int... params) {
        MatOfByte buf = new MatOfByte();
        MatOfInt p = new MatOfInt(params);
        assertTrue(Imgcodecs.imencode(ext, im, buf, p));
        byte[] bytes = buf.toArray();
        buf.release();
        p.release();
        return bytes;
    }

    private static int[] bgrAt(Mat im, int y, int x) {
        byte[] px = new byte[3];
        im.get(y, x, px);
        return new int[] {px[0] & 0xff, px[1] & 0xff, px[2] & 0xff};
    }

    @Test
    void grayscaleJpegDecodesToThreeEqualChannels() {
        Mat gray = new Mat(40, 60, CvType.CV_8UC1);
        byte[] data = new byte[40 * 60];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 7);
        }
        gray.put(0, 0, data);
        Mat im = PyclsTransforms.decode(encode(gray, ".jpg", Imgcodecs.IMWRITE_JPEG_QUALITY, 90));
        gray.release();
        assertEquals(CvType.CV_8UC3, im.type());
        assertEquals(40, im.rows());
        assertEquals(60, im.cols());
        byte[] all = new byte[40 * 60 * 3];
        im.get(0, 0, all);
        im.release();
        for (int i = 0; i < all.length; i += 3) {
            assertEquals(all[i], all[i + 1]);
            assertEquals(all[i], all[i + 2]);
        }
    }

    @Test
    void pngDecodesLosslessly() {
        Mat src = TestImages.randomImage(33, 47, 11);
        Mat im = PyclsTransforms.decode(encode(src, ".png"));
        byte[] want = new byte[33 * 47 * 3];
        byte[] got = new byte[33 * 47 * 3];
        src.get(0, 0, want);
        im.get(0, 0, got);
        assertArrayEquals(want, got);
        src.release();
        im.release();
    }

    @Test
    void emptyOrGarbageBytesAreUndecodable() {
        assertThrows(UndecodableImageException.class, () -> PyclsTransforms.decode(new byte[0]));
        assertThrows(UndecodableImageException.class, () -> PyclsTransforms.decode(null));
        byte[] garbage = new byte[4096];
        new SplittableRandom(1).nextBytes(garbage);
        assertThrows(UndecodableImageException.class, () -> PyclsTransforms.decode(garbage));
        byte[] truncatedJpeg = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 16};
        assertThrows(UndecodableImageException.class, () -> PyclsTransforms.decode(truncatedJpeg));
    }

    @Test
    void exifOrientationIsIgnored() {
        Mat src = TestImages.randomImage(20, 50, 2);
        byte[] jpeg = encode(src, ".jpg");
        src.release();
        // APP1 Exif, big-endian TIFF, one IFD entry: Orientation (0x0112) SHORT = 6 (rotate 90 CW to display).
        byte[] exif = {
            (byte) 0xFF, (byte) 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0, 0,
            'M', 'M', 0, 42, 0, 0, 0, 8,
            0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0};
        Mat rotatedByDefault = Imgcodecs.imdecode(new MatOfByte(splice(jpeg, exif)), Imgcodecs.IMREAD_COLOR);
        assertEquals(50, rotatedByDefault.rows(), "marker is valid: plain IMREAD_COLOR rotates");
        rotatedByDefault.release();
        Mat im = PyclsTransforms.decode(splice(jpeg, exif));
        assertEquals(20, im.rows());
        assertEquals(50, im.cols());
        im.release();
    }

    /** Inserts a marker segment right after SOI. */
    private static byte[] splice(byte[] jpeg, byte[] segment) {
        byte[] out = new byte[jpeg.length + segment.length];
        System.arraycopy(jpeg, 0, out, 0, 2);
        System.arraycopy(segment, 0, out, 2, segment.length);
        System.arraycopy(jpeg, 2, out, 2 + segment.length, jpeg.length - 2);
        return out;
    }

    // ---- CMYK ----

    /** Flat patches: true C, M, Y, K ink (0..255) and the RGB they should appear as, (255-C)(255-K)/255 etc. */
    private static final int[][] INKS = {
        {255, 0, 0, 0}, {0, 255, 0, 0}, {0, 0, 255, 0}, {0, 255, 255, 0}, {0, 0, 0, 255},
        {0, 0, 0, 0}, {0, 0, 0, 128}, {64, 128, 192, 32}};
    private static final int PATCH = 16;

    /**
     * A 4-component JPEG as Photoshop writes it: stored samples are inverted ink (255 - ink). With ycck, the
     * stored CMY are further encoded as YCbCr of (255 - stored) the way libjpeg's cmyk_ycck_convert does.
     * The JDK writer stores a 4-band Raster untransformed and without APP14; the Adobe marker is spliced in.
     */
    static byte[] cmykJpeg(Integer adobeTransform) throws IOException {
        WritableRaster r = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, PATCH * INKS.length, PATCH, 4, null);
        for (int p = 0; p < INKS.length; p++) {
            int[] stored = new int[4];
            for (int k = 0; k < 4; k++) {
                stored[k] = 255 - INKS[p][k];
            }
            if (adobeTransform != null && adobeTransform == 2) {
                stored = toYcck(stored);
            }
            for (int y = 0; y < PATCH; y++) {
                for (int x = p * PATCH; x < (p + 1) * PATCH; x++) {
                    r.setPixel(x, y, stored);
                }
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(0.95f);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(bos)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(r, null, null), param);
        } finally {
            writer.dispose();
        }
        byte[] jpeg = bos.toByteArray();
        if (adobeTransform == null) {
            return jpeg;
        }
        byte[] app14 = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0,
            (byte) (int) adobeTransform};
        return splice(jpeg, app14);
    }

    private static int[] toYcck(int[] stored) {
        double r = 255 - stored[0];
        double g = 255 - stored[1];
        double b = 255 - stored[2];
        return new int[] {
            clamp(0.299 * r + 0.587 * g + 0.114 * b),
            clamp(-0.168736 * r - 0.331264 * g + 0.5 * b + 128),
            clamp(0.5 * r - 0.418688 * g - 0.081312 * b + 128),
            stored[3]};
    }

    private static int clamp(double v) {
        return (int) Math.max(0, Math.min(255, Math.round(v)));
    }

    /** Scans the JPEG header: {SOF component count, Adobe APP14 transform or -1}. */
    private static int[] jpegHeader(byte[] j) {
        int components = -1;
        int transform = -1;
        for (int i = 2; i + 4 < j.length && (j[i] & 0xff) == 0xFF; ) {
            int marker = j[i + 1] & 0xff;
            int len = ((j[i + 2] & 0xff) << 8) | (j[i + 3] & 0xff);
            if (marker == 0xEE && j[i + 4] == 'A') {
                transform = j[i + 15] & 0xff;
            } else if (marker >= 0xC0 && marker <= 0xC2) {
                components = j[i + 9] & 0xff;
            } else if (marker == 0xDA) {
                break;
            }
            i += 2 + len;
        }
        return new int[] {components, transform};
    }

    private static void assertInkColours(byte[] jpeg) {
        Mat im = PyclsTransforms.decode(jpeg);
        assertEquals(CvType.CV_8UC3, im.type());
        for (int p = 0; p < INKS.length; p++) {
            int[] bgr = bgrAt(im, PATCH / 2, p * PATCH + PATCH / 2);
            int k = INKS[p][3];
            for (int c = 0; c < 3; c++) {
                double want = (255 - INKS[p][c]) * (255 - k) / 255.0; // c = 0,1,2 -> R,G,B
                assertEquals(want, bgr[2 - c], 12, "patch " + p + " channel " + "RGB".charAt(c));
            }
        }
        im.release();
    }

    @Test
    void adobeCmykJpegDecodesToTheRightColours() throws IOException {
        byte[] jpeg = cmykJpeg(0);
        assertArrayEquals(new int[] {4, 0}, jpegHeader(jpeg));
        assertInkColours(jpeg);
    }

    @Test
    void adobeYcckJpegDecodesToTheRightColours() throws IOException {
        byte[] jpeg = cmykJpeg(2);
        assertArrayEquals(new int[] {4, 2}, jpegHeader(jpeg));
        assertInkColours(jpeg);
    }

    /** Without APP14 OpenCV still reads samples as inverted (Adobe) ink, as Pillow does for every CMYK JPEG. */
    @Test
    void cmykJpegWithoutAdobeMarkerIsReadAsInvertedToo() throws IOException {
        byte[] jpeg = cmykJpeg(null);
        assertArrayEquals(new int[] {4, -1}, jpegHeader(jpeg));
        assertInkColours(jpeg);
    }

    @Test
    void cmykJpegGoesThroughTheTestTransform() throws IOException {
        Mat im = PyclsTransforms.decode(cmykJpeg(0));
        float[] out = new float[3 * 16 * 16];
        PyclsTransforms.test(im, 16, 16, out, 0);
        im.release();
        // Centre crop of 16x128 starts at x = 56; column 4 is x = 60, in patch 3 (red: C=0, M=Y=255).
        assertTrue(TestImages.at(out, 16, 2, 8, 4) > 2.0f);
        assertTrue(TestImages.at(out, 16, 1, 8, 4) < -1.8f);
        assertTrue(TestImages.at(out, 16, 0, 8, 4) < -1.6f);
    }
}
