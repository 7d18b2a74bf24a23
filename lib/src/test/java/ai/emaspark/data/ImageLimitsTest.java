package ai.emaspark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.MatOfInt;
import org.opencv.imgcodecs.Imgcodecs;

/** Images refused from their headers before anything decodes them, and libjpeg's own limits in the native decoder. */
class ImageLimitsTest {
    private static byte[] jpeg(Mat image, boolean progressive) {
        MatOfByte out = new MatOfByte();
        Imgcodecs.imencode(".jpg", image, out, new MatOfInt(Imgcodecs.IMWRITE_JPEG_PROGRESSIVE, progressive ? 1 : 0));
        return out.toArray();
    }

    private static byte[] claimSize(byte[] jpeg, int width, int height) {
        return ai.emaspark.spark.PrepareDriverTestAccess.claimSize(jpeg, width, height);
    }

    @Test
    void headersGiveSizeAndScansWithoutDecoding() {
        OpenCvLoader.load();
        Mat image = TestImages.randomImage(37, 53, 3);
        ImageHeader baseline = ImageHeader.of(jpeg(image, false));
        assertEquals(53, baseline.width());
        assertEquals(37, baseline.height());
        assertEquals(1, baseline.scans());
        ImageHeader progressive = ImageHeader.of(jpeg(image, true));
        assertEquals(53, progressive.width());
        assertTrue(progressive.scans() > 3, "a progressive JPEG has several scans: " + progressive.scans());
        MatOfByte png = new MatOfByte();
        Imgcodecs.imencode(".png", image, png);
        assertEquals(new ImageHeader(53, 37, 0), ImageHeader.of(png.toArray()));
        assertTrue(!ImageHeader.of("GIF89a....".getBytes()).known());
    }

    @Test
    void aDecompressionBombIsRefusedBeforeAnyDecoderAllocates() {
        OpenCvLoader.load();
        byte[] bomb = claimSize(jpeg(TestImages.randomImage(64, 64, 1), true), 60000, 60000);
        UndecodableImageException e = assertThrows(UndecodableImageException.class, () -> ImageLimits.DEFAULT.check(bomb));
        assertTrue(e.getMessage().startsWith("image of 60,000 x 60,000 pixels exceeds the limit of 89,478,485 pixels"), e.getMessage());
        assertThrows(UndecodableImageException.class, () -> RgbImage.open(bomb, ImageLimits.DEFAULT).close());
        assertEquals("image of 64 x 64 pixels exceeds the limit of 4,000 pixels (a decompression bomb, or set a higher limit)",
                ImageCheck.check(jpeg(TestImages.randomImage(64, 64, 1), false), ImageLimits.ofPixels(4000)).problem());
        byte[] progressive = jpeg(TestImages.randomImage(64, 64, 1), true);
        assertTrue(ImageCheck.check(progressive, new ImageLimits(1 << 20, 2)).problem().contains("scans exceeds the limit of 2"));
    }

    /** Without the header check in front, libjpeg itself stops: its memory cap and its scan limit. */
    @Test
    void theNativeDecoderCapsLibjpegsMemoryAndScans() {
        OpenCvLoader.load();
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeJpeg.available(), "native decoder not built here");
        byte[] bomb = claimSize(jpeg(TestImages.randomImage(64, 64, 1), true), 30000, 30000);
        Mat dst = new Mat();
        UndecodableImageException memory = assertThrows(UndecodableImageException.class, () -> NativeJpeg.decodeRgbFloat(bomb,
                0, 0, 8, 8, allocate(dst), dst.step1(0) * dst.elemSize1(), 64L << 20, 500));
        assertTrue(memory.getMessage().contains("Backing store not supported"), memory.getMessage()); // libjpeg's words for it
        byte[] progressive = jpeg(TestImages.randomImage(64, 64, 1), true);
        UndecodableImageException scans = assertThrows(UndecodableImageException.class, () -> NativeJpeg.decodeRgbFloat(progressive,
                0, 0, 8, 8, allocate(dst), dst.step1(0) * dst.elemSize1(), 64L << 20, 2));
        assertEquals("progressive JPEG of more than 2 scans", scans.getMessage());
        dst.release();
    }

    private static long allocate(Mat dst) {
        dst.create(8, 8, org.opencv.core.CvType.CV_32FC3);
        return dst.dataAddr();
    }
}
