package ai.emaspark.data;

/**
 * What an encoded image's header says about it, read without decoding: its size and, for a JPEG,
 * how many scans it has. Enough to refuse a decompression bomb (a few KB claiming 65000 x 65000
 * pixels, or a progressive JPEG of thousands of scans) before any decoder allocates for it.
 *
 * @param width pixels, or -1 when the format is not one read here
 * @param height pixels, or -1
 * @param scans JPEG scans (start-of-scan markers), 0 for other formats
 */
public record ImageHeader(int width, int height, int scans) {
    static final ImageHeader UNKNOWN = new ImageHeader(-1, -1, 0);

    public boolean known() {
        return width >= 0 && height >= 0;
    }

    public long pixels() {
        return (long) width * height;
    }

    /** The header of JPEG or PNG bytes; {@link #UNKNOWN} for other formats and for JPEGs without a frame header. */
    public static ImageHeader of(byte[] bytes) {
        if (ImageCheck.isJpeg(bytes)) {
            return jpeg(bytes);
        }
        if (isPng(bytes)) {
            return new ImageHeader(int32(bytes, 16), int32(bytes, 20), 0);
        }
        return UNKNOWN;
    }

    private static boolean isPng(byte[] b) {
        return b.length >= 24 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G'
                && b[12] == 'I' && b[13] == 'H' && b[14] == 'D' && b[15] == 'R';
    }

    /**
     * Walks the JPEG's markers: the frame header (SOFn) gives the size, each start of scan (SOS) is
     * counted and its entropy-coded data skipped up to the next marker.
     */
    private static ImageHeader jpeg(byte[] b) {
        int width = -1;
        int height = -1;
        int scans = 0;
        int i = 2;
        while (i + 1 < b.length) {
            if ((b[i] & 0xff) != 0xFF) {
                i++;
                continue;
            }
            int marker = b[i + 1] & 0xff;
            if (marker == 0xFF) {
                i++; // fill byte
                continue;
            }
            if (marker == 0xD9) {
                break; // end of image
            }
            if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x00) {
                i += 2; // no length
                continue;
            }
            if (i + 3 >= b.length) {
                break;
            }
            int length = ((b[i + 2] & 0xff) << 8) | (b[i + 3] & 0xff);
            boolean frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (frame && i + 8 < b.length) {
                height = ((b[i + 5] & 0xff) << 8) | (b[i + 6] & 0xff);
                width = ((b[i + 7] & 0xff) << 8) | (b[i + 8] & 0xff);
            }
            i += 2 + length;
            if (marker == 0xDA) {
                scans++;
                while (i + 1 < b.length && !((b[i] & 0xff) == 0xFF && isMarkerAfterData(b[i + 1] & 0xff))) {
                    i++;
                }
            }
        }
        return width < 0 ? UNKNOWN : new ImageHeader(width, height, scans);
    }

    /** In entropy-coded data FF 00 is a stuffed byte and FF D0..D7 a restart; anything else ends the scan. */
    private static boolean isMarkerAfterData(int next) {
        return next != 0x00 && !(next >= 0xD0 && next <= 0xD7) && next != 0xFF;
    }

    private static int int32(byte[] b, int at) {
        long v = ((long) (b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
        return (int) Math.min(v, Integer.MAX_VALUE);
    }
}
