package ai.emaspark.data;

import java.io.Serializable;

/**
 * How large an image may be before anything decodes it: pixels (Pillow's default limit, the one
 * torchvision users know, unless configured) and JPEG scans (libjpeg-turbo's TurboJPEG limit). An
 * image over either is undecodable: Prepare leaves it out and lists it, training skips it. The native
 * decoder also caps libjpeg's buffers to what an image within the limit needs.
 *
 * @param maxPixels width x height at most
 * @param maxScans JPEG scans at most
 */
public record ImageLimits(long maxPixels, int maxScans) implements Serializable {
    /** Pillow's MAX_IMAGE_PIXELS: 89,478,485 (about 0.25 GB of 24-bit RGB). */
    public static final long DEFAULT_MAX_PIXELS = 89_478_485L;
    /** TurboJPEG's limit when told to limit scans; ordinary progressive JPEGs have about 10. */
    public static final int DEFAULT_MAX_SCANS = 500;
    public static final ImageLimits DEFAULT = new ImageLimits(DEFAULT_MAX_PIXELS, DEFAULT_MAX_SCANS);

    public static ImageLimits ofPixels(long maxPixels) {
        return new ImageLimits(maxPixels, DEFAULT_MAX_SCANS);
    }

    /** Bytes libjpeg may use for an image within the limit: a progressive decode's coefficients (at most 8 bytes a pixel) and its strips. */
    long maxDecoderMemory() {
        return maxPixels * 8 + (64L << 20);
    }

    /**
     * @throws UndecodableImageException when the header says the image exceeds a limit
     */
    public void check(byte[] encoded) {
        ImageHeader header = ImageHeader.of(encoded);
        if (header.known() && header.pixels() > maxPixels) {
            throw new UndecodableImageException(String.format("image of %,d x %,d pixels exceeds the limit of %,d pixels "
                    + "(a decompression bomb, or set a higher limit)", header.width(), header.height(), maxPixels));
        }
        if (header.scans() > maxScans) {
            throw new UndecodableImageException("progressive JPEG of " + header.scans() + " scans exceeds the limit of "
                    + maxScans);
        }
    }
}
