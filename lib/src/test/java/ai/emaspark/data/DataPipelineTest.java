package ai.emaspark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sample dataset, its listing, decoding, transforms and batching, on real JPEG files. */
class DataPipelineTest {
    @TempDir
    static Path dir;
    static DatasetIndex index;
    static FileSystem fs;

    @BeforeAll
    static void writeSample() throws Exception {
        fs = FileSystem.getLocal(new Configuration());
        new SampleImageNet(fs, new org.apache.hadoop.fs.Path(dir.toUri()), 7).write(4, 10, 3, true);
        index = ImageNetLayout.scan(fs, new org.apache.hadoop.fs.Path(dir.toUri()), "train", "val");
    }

    @Test
    void labelsComeFromSortedWnidsAndTheKaggleSolutionFile() throws Exception {
        assertEquals(List.of("n01440764", "n01443537", "n01484850", "n01491361"), index.classes());
        assertEquals(42, index.train().size(), "40 images and 2 damaged files");
        assertEquals(12, index.val().size());
        Sample first = index.train().get(0);
        assertEquals(0, first.label());
        assertTrue(first.path().endsWith("train/n01440764/" + first.key() + ".JPEG"));
        String solution = Files.readString(dir.resolve(ImageNetLayout.VAL_SOLUTION));
        for (Sample val : index.val()) {
            assertTrue(solution.contains(val.key() + "," + index.classes().get(val.label()) + " "), val.toString());
        }
    }

    @Test
    void aMissingDatasetIsOneClearMessage() {
        DatasetException e = assertThrows(DatasetException.class,
                () -> ImageNetLayout.scan(fs, new org.apache.hadoop.fs.Path(dir.resolve("nowhere").toUri()), "train", "val"));
        assertTrue(e.getMessage().startsWith("dataset path ") && e.getMessage().endsWith("does not exist: check TRAIN.DATASET"),
                e.getMessage());
    }

    @Test
    void testTransformScalesCropsAndNormalisesAsPycls() throws Exception {
        // a flat image, 80 x 60, BGR (10, 128, 250): every output pixel is ((v/255) - mean) / std
        org.opencv.core.Mat flat = null;
        OpenCvLoader.load();
        flat = new org.opencv.core.Mat(60, 80, org.opencv.core.CvType.CV_8UC3, new org.opencv.core.Scalar(10, 128, 250));
        org.opencv.core.MatOfByte png = new org.opencv.core.MatOfByte();
        org.opencv.imgcodecs.Imgcodecs.imencode(".png", flat, png);
        float[] out = new float[3 * 16 * 16];
        ImageTransform.test(16, 20).apply("k", png.toArray(), out, 0);
        assertEquals((10 / 255f - 0.406f) / 0.225f, out[0], 1e-5);
        assertEquals((128 / 255f - 0.456f) / 0.224f, out[256 + 77], 1e-5);
        assertEquals((250 / 255f - 0.485f) / 0.229f, out[512 + 255], 1e-5);
    }

    @Test
    void trainFlipIsDrawnFromSeedEpochAndKey() throws Exception {
        byte[] jpeg = SampleImageNet.jpeg(1, 4, 3);
        int flips = 0;
        for (int epoch = 0; epoch < 40; epoch++) {
            float[] a = new float[3 * 24 * 24];
            float[] b = new float[3 * 24 * 24];
            ImageTransform.train(24, 5, epoch).apply("key", jpeg, a, 0);
            ImageTransform.train(24, 5, epoch).apply("key", jpeg, b, 0);
            assertTrue(java.util.Arrays.equals(a, b), "same seed, epoch and key: same output");
            float[] plain = new float[3 * 24 * 24];
            ImageTransform.test(24, 24).apply("key", jpeg, plain, 0);
            flips += java.util.Arrays.equals(a, plain) ? 0 : 1;
        }
        assertTrue(flips > 8 && flips < 32, "p = 0.5 flips over 40 epochs: " + flips);
    }

    @Test
    void damagedFilesAreSkippedRecordedAndReplacedFromTheReserve() throws Exception {
        List<Sample> samples = new ArrayList<>(index.train());
        List<Sample> bad = samples.stream().filter(s -> s.key().endsWith("_truncated") || s.key().endsWith("_empty")).toList();
        assertEquals(2, bad.size());
        List<Sample> stream = new ArrayList<>(bad);
        stream.addAll(samples.subList(0, 6).stream().filter(s -> !bad.contains(s)).toList());
        List<Sample> reserve = samples.subList(30, 34);
        Configuration conf = new Configuration();
        try (BatchLoader loader = new BatchLoader(stream, reserve, true, 4, new ImageSource(conf), ImageTransform.train(16, 1, 0), 2)) {
            Batch first = loader.next(Batch.allocate(4, 16));
            assertEquals(4, first.count(), "a full batch despite two damaged files");
            Batch second = loader.next(Batch.allocate(4, 16));
            assertEquals(4, second.count());
            assertEquals(2, loader.skipped().size());
            assertTrue(loader.skipped().stream().anyMatch(s -> s.endsWith("_empty.JPEG: empty file")), loader.skipped().toString());
            assertTrue(loader.skipped().stream().anyMatch(s -> s.contains("_truncated.JPEG: not a decodable image")));
        }
        try (BatchLoader eval = new BatchLoader(stream, List.of(), false, 4, new ImageSource(conf), ImageTransform.test(16, 18), 1)) {
            int total = 0;
            for (Batch b = eval.next(Batch.allocate(4, 16)); b.count() > 0; b = eval.next(b)) {
                total += b.count();
            }
            assertEquals(stream.size() - 2, total, "evaluation skips them without replacement");
        }
    }

    @Test
    void sampleIsDeterministicFromTheSeed() {
        assertTrue(java.util.Arrays.equals(SampleImageNet.jpeg(2, 10, 42), SampleImageNet.jpeg(2, 10, 42)));
        assertNotEquals(SampleImageNet.jpeg(2, 10, 42).length, 0);
    }
}
