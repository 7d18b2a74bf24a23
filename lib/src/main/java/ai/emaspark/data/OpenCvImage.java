package ai.emaspark.data;

import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.imgproc.Imgproc;

/** A BGR uint8 image decoded by OpenCV, converted to pycls's float RGB region by region. */
final class OpenCvImage implements RgbImage {
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final Mat bgr;
    private final boolean owned;

    private OpenCvImage(Mat bgr, boolean owned) {
        this.bgr = bgr;
        this.owned = owned;
    }

    /** Wraps a decoded image that {@link #close()} releases. */
    static OpenCvImage owning(Mat bgr) {
        return new OpenCvImage(bgr, true);
    }

    /** Wraps a decoded image that stays the caller's. */
    static OpenCvImage borrowing(Mat bgr) {
        return new OpenCvImage(bgr, false);
    }

    @Override
    public int width() {
        return bgr.cols();
    }

    @Override
    public int height() {
        return bgr.rows();
    }

    /** pycls im[:, :, ::-1].astype(float32) / 255 of the region; the same values as converting everything. */
    @Override
    public void toRgbFloat(int y0, int y1, int x0, int x1, Mat dst) {
        Scratch s = SCRATCH.get();
        Mat region = bgr.submat(y0, y1, x0, x1);
        try {
            Imgproc.cvtColor(region, s.rgb8, Imgproc.COLOR_BGR2RGB);
            Core.LUT(s.rgb8, s.lut, dst);
        } finally {
            region.release();
            if (s.rgb8.total() * s.rgb8.elemSize() > PyclsTransforms.RETAIN_BYTES) {
                s.rgb8.release();
            }
        }
    }

    @Override
    public void close() {
        if (owned) {
            bgr.release();
        }
    }

    private static final class Scratch {
        final Mat lut = byteToFloatLut();
        final Mat rgb8 = new Mat();

        /** b -> b / 255f for every byte: the exact float32 division numpy does, applied natively by Core.LUT. */
        private static Mat byteToFloatLut() {
            OpenCvLoader.load();
            float[] table = new float[256];
            for (int b = 0; b < 256; b++) {
                table[b] = b / 255f;
            }
            Mat lut = new Mat(1, 256, CvType.CV_32FC1);
            lut.put(0, 0, table);
            return lut;
        }
    }
}
