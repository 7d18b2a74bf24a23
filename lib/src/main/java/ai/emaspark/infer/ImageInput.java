package ai.emaspark.infer;

import ai.emaspark.data.ImageLimits;
import ai.emaspark.data.ImageTransform;
import ai.emaspark.data.OpenCvLoader;
import ai.emaspark.data.PyclsTransforms;
import ai.emaspark.data.UndecodableImageException;
import java.util.Locale;
import org.apache.spark.ml.image.ImageSchema;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.imgproc.Imgproc;

/**
 * One input cell to the network's input, by pycls's test transform: encoded bytes (a {@code binaryFile}'s
 * {@code content}, a prepared shard's {@code image}) decoded exactly as the training job's evaluation
 * decodes them ({@link ImageTransform#test}), or Spark's {@code image} struct (already decoded BGR bytes).
 */
final class ImageInput {
    enum Kind {
        ENCODED, SPARK_IMAGE;

        /** The kind of a column type; other types are refused with the two that are accepted. */
        static Kind of(String column, DataType type) {
            if (type.equals(DataTypes.BinaryType)) {
                return ENCODED;
            }
            if (type instanceof StructType struct
                    && java.util.Set.of(struct.fieldNames()).containsAll(java.util.Set.of(ImageSchema.columnSchema().fieldNames()))) {
                checkImageFieldTypes(column, struct);
                return SPARK_IMAGE;
            }
            throw new InferenceException("input column " + column + " is " + type.simpleString() + ": give a binary column of "
                    + "image file bytes (binaryFile's content) or Spark's image struct (the image data source's image)");
        }

        /** An image struct's fields by name are read as the image data source types them: refused up front if not. */
        private static void checkImageFieldTypes(String column, StructType struct) {
            for (org.apache.spark.sql.types.StructField expected : ImageSchema.columnSchema().fields()) {
                DataType given = struct.apply(expected.name()).dataType();
                if (!given.equals(expected.dataType())) {
                    throw new InferenceException("input column " + column + " has the image struct's field names but its "
                            + expected.name() + " is " + given.simpleString() + ", not " + expected.dataType().simpleString()
                            + ": give Spark's image struct as the image data source makes it ("
                            + ImageSchema.columnSchema().simpleString() + "), or a binary column of image file bytes");
                }
            }
        }
    }

    private final Kind kind;
    private final ImageTransform transform;
    private final int cropSize;
    private final int testSize;
    private final ImageLimits limits;

    ImageInput(Kind kind, int cropSize, int testSize, long maxPixels) {
        this.kind = kind;
        this.limits = ImageLimits.ofPixels(maxPixels);
        this.transform = ImageTransform.test(cropSize, testSize).withLimits(limits);
        this.cropSize = cropSize;
        this.testSize = testSize;
    }

    int floats() {
        return 3 * cropSize * cropSize;
    }

    /**
     * Writes the network input of {@code value} at {@code out[offset]}.
     *
     * @throws UndecodableImageException when it is null, not an image, or over the pixel limit
     */
    void apply(Object value, float[] out, int offset) {
        if (value == null) {
            throw new UndecodableImageException("no image (null)");
        }
        if (kind == Kind.ENCODED) {
            transform.apply("", (byte[]) value, out, offset); // the key seeds only the train transform
            return;
        }
        Mat bgr = sparkImage((Row) value);
        try {
            PyclsTransforms.test(bgr, testSize, cropSize, out, offset);
        } finally {
            bgr.release();
        }
    }

    /** Spark's image struct (OpenCV type, row-major BGR or BGRA or grey bytes) as a BGR uint8 Mat, as imdecode gives. */
    private Mat sparkImage(Row image) {
        int height = image.getInt(image.fieldIndex("height"));
        int width = image.getInt(image.fieldIndex("width"));
        int mode = image.getInt(image.fieldIndex("mode"));
        byte[] data = image.getAs("data");
        if ((long) width * height > limits.maxPixels()) {
            throw new UndecodableImageException(String.format(Locale.ROOT, "image of %,d x %,d pixels exceeds the limit of %,d pixels",
                    width, height, limits.maxPixels()));
        }
        int channels = CvType.channels(mode);
        if (CvType.depth(mode) != CvType.CV_8U || (channels != 1 && channels != 3 && channels != 4) || width <= 0 || height <= 0
                || data == null || data.length != (long) width * height * channels) {
            throw new UndecodableImageException("not an 8-bit image struct (mode " + mode + ", " + width + " x " + height + ")");
        }
        OpenCvLoader.load();
        Mat stored = new Mat(height, width, mode);
        stored.put(0, 0, data);
        if (channels == 3) {
            return stored;
        }
        Mat bgr = new Mat();
        Imgproc.cvtColor(stored, bgr, channels == 1 ? Imgproc.COLOR_GRAY2BGR : Imgproc.COLOR_BGRA2BGR);
        stored.release();
        return bgr;
    }
}
