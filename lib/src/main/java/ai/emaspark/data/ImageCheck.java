package ai.emaspark.data;

import org.opencv.core.Mat;

/**
 * Whether bytes are an image the training pipeline can use, and its size: a full decode (what
 * training will do), plus a check for JPEGs cut short, which libjpeg decodes without complaint
 * into an image whose bottom is grey.
 */
public final class ImageCheck {
    public record Result(int width, int height, String problem) {
        public boolean ok() {
            return problem == null;
        }
    }

    private ImageCheck() {}

    public static Result check(byte[] bytes, ImageLimits limits) {
        if (bytes.length == 0) {
            return new Result(0, 0, "empty file");
        }
        if (isJpeg(bytes) && !endsWithEoi(bytes)) {
            return new Result(0, 0, "truncated JPEG (no end-of-image marker)");
        }
        Mat image;
        try {
            limits.check(bytes); // before anything allocates for it
            image = PyclsTransforms.decode(bytes); // the decode training will do
        } catch (UndecodableImageException e) {
            return new Result(0, 0, e.getMessage());
        }
        try {
            return new Result(image.cols(), image.rows(), null);
        } finally {
            image.release();
        }
    }

    static boolean isJpeg(byte[] bytes) {
        return bytes.length >= 3 && (bytes[0] & 0xff) == 0xFF && (bytes[1] & 0xff) == 0xD8 && (bytes[2] & 0xff) == 0xFF;
    }

    /** FF D9 at the end, allowing the zero padding some writers append. */
    static boolean endsWithEoi(byte[] bytes) {
        int end = bytes.length - 1;
        while (end > 1 && bytes[end] == 0) {
            end--;
        }
        return end >= 1 && (bytes[end - 1] & 0xff) == 0xFF && (bytes[end] & 0xff) == 0xD9;
    }
}
