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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sample dataset, its listing and reading, decoding, transforms and batching, on real JPEG files. */
class DataPipelineTest {
    @TempDir
    static Path dir;
    static ImageNetSources sources;
    static List<ImageRow> trainRows = new ArrayList<>();

    @BeforeAll
    static void writeSample() throws Exception {
        FileSystem fs = FileSystem.getLocal(new Configuration());
        new SampleImageNet(fs, new org.apache.hadoop.fs.Path(dir.toUri()), 7).write(4, 10, 3, true);
        sources = ImageNetSources.scan(fs, new org.apache.hadoop.fs.Path(dir.toUri()));
        SourceReader reader = new SourceReader(new Configuration(), sources.classes());
        for (SourceUnit unit : sources.train()) {
            reader.read(unit, trainRows::add);
        }
    }

    @Test
    void labelsComeFromSortedWnidsAndTheKaggleSolutionFile() throws Exception {
        assertEquals(List.of("n01440764", "n01443537", "n01484850", "n01491361"), sources.classes());
        assertEquals(42, trainRows.size(), "40 images and 2 damaged files");
        assertEquals(2, trainRows.stream().filter(ImageRow::isSkipped).count());
        for (ImageRow row : trainRows) {
            if (!row.isSkipped()) {
                assertEquals(sources.classes().get(row.label()), row.wnid());
                assertTrue(row.key().startsWith(row.wnid() + "_"), row.key());
            }
        }
        List<ImageRow> val = new ArrayList<>();
        SourceReader reader = new SourceReader(new Configuration(), sources.classes());
        for (SourceUnit unit : sources.val()) {
            reader.read(unit, val::add);
        }
        assertEquals(12, val.size());
        String solution = Files.readString(dir.resolve(ImageNetSources.VAL_SOLUTION));
        for (ImageRow row : val) {
            assertTrue(solution.contains(row.key() + "," + row.wnid() + " "), row.key());
        }
    }

    /** The devkit form: flat val labelled by line number in the ground truth, IDs mapped by meta.mat. */
    @Test
    void devkitGroundTruthAndMetaLabelTheFlatValidationFolder(@TempDir Path devkitRoot) throws Exception {
        FileSystem fs = FileSystem.getLocal(new Configuration());
        org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(devkitRoot.toUri());
        Files.createDirectories(devkitRoot.resolve("train/n01440764"));
        Files.write(devkitRoot.resolve("train/n01440764/n01440764_1.JPEG"), SampleImageNet.jpeg(0, 2, 1));
        Files.createDirectories(devkitRoot.resolve("val"));
        for (int i = 1; i <= 3; i++) {
            Files.write(devkitRoot.resolve(String.format("val/ILSVRC2012_val_%08d.JPEG", i)), SampleImageNet.jpeg(0, 2, i));
        }
        Path data = Files.createDirectories(devkitRoot.resolve("ILSVRC2012_devkit_t12/data"));
        Files.writeString(data.resolve(ImageNetSources.GROUND_TRUTH), "2\n1\n4\n"); // IDs in devkit order
        try (java.io.InputStream meta = getClass().getResourceAsStream("/devkit/meta-compressed.mat")) {
            Files.write(data.resolve("meta.mat"), meta.readAllBytes());
        }
        ImageNetSources devkit = ImageNetSources.scan(fs, root);
        SourceUnit val = devkit.val().get(0);
        assertEquals(List.of("n01440764", "n01484850", "n01443537"), val.fileWnids(),
                "IDs 2, 1, 4 of meta.mat: tench, great white shark, goldfish");
    }

    @Test
    void aMissingSourceIsOneClearMessage() {
        DatasetException e = assertThrows(DatasetException.class,
                () -> ImageNetSources.scan(FileSystem.getLocal(new Configuration()), new org.apache.hadoop.fs.Path(dir.resolve("nowhere").toUri())));
        assertTrue(e.getMessage().startsWith("source path ") && e.getMessage().endsWith("does not exist: check --src"), e.getMessage());
    }

    @Test
    void testTransformScalesCropsAndNormalisesAsPycls() throws Exception {
        OpenCvLoader.load();
        org.opencv.core.Mat flat = new org.opencv.core.Mat(60, 80, org.opencv.core.CvType.CV_8UC3, new org.opencv.core.Scalar(10, 128, 250));
        org.opencv.core.MatOfByte png = new org.opencv.core.MatOfByte();
        org.opencv.imgcodecs.Imgcodecs.imencode(".png", flat, png);
        float[] out = new float[3 * 16 * 16];
        ImageTransform.test(16, 20).apply("k", png.toArray(), out, 0);
        assertEquals((10 / 255f - 0.406f) / 0.225f, out[0], 1e-5);
        assertEquals((128 / 255f - 0.456f) / 0.224f, out[256 + 77], 1e-5);
        assertEquals((250 / 255f - 0.485f) / 0.229f, out[512 + 255], 1e-5);
    }

    @Test
    void trainAugmentationIsDrawnFromSeedEpochAndKey() throws Exception {
        byte[] jpeg = SampleImageNet.jpeg(1, 4, 3);
        float[] a = new float[3 * 24 * 24];
        float[] b = new float[3 * 24 * 24];
        ImageTransform.train(24, 0.1, 5, 2).apply("key", jpeg, a, 0);
        ImageTransform.train(24, 0.1, 5, 2).apply("key", jpeg, b, 0);
        assertTrue(java.util.Arrays.equals(a, b), "same seed, epoch and key: same output");
        float[] otherEpoch = new float[3 * 24 * 24];
        ImageTransform.train(24, 0.1, 5, 3).apply("key", jpeg, otherEpoch, 0);
        float[] otherKey = new float[3 * 24 * 24];
        ImageTransform.train(24, 0.1, 5, 2).apply("key2", jpeg, otherKey, 0);
        assertTrue(!java.util.Arrays.equals(a, otherEpoch) && !java.util.Arrays.equals(a, otherKey));
    }

    @Test
    void undecodableRowsAreSkippedRecordedAndReplacedByTheNextRows() throws Exception {
        List<ImageRow> good = trainRows.stream().filter(r -> !r.isSkipped()).toList();
        List<ImageRow> feed = new ArrayList<>();
        feed.add(new ImageRow("bad1", "src/bad1.JPEG", 0, "n01440764", new byte[] {1, 2, 3}, 0, 0, null));
        feed.add(new ImageRow("bad2", "src/bad2.JPEG", 0, "n01440764", new byte[0], 0, 0, null));
        feed.addAll(good.subList(0, 10));
        try (BatchLoader loader = new BatchLoader(feed.iterator(), true, 4, ImageTransform.train(16, 0.1, 1, 0), 2)) {
            Batch first = loader.next(Batch.allocate(4, 16));
            assertEquals(4, first.count(), "a full batch despite two damaged rows");
            assertEquals(good.get(0).label(), first.labels()[0], "rows keep the feed's order");
            assertEquals(4, loader.next(first).count());
            assertEquals(List.of("src/bad1.JPEG: not a decodable image (3 bytes)", "src/bad2.JPEG: empty file"), loader.skipped());
        }
        try (BatchLoader eval = new BatchLoader(feed.iterator(), false, 4, ImageTransform.test(16, 18), 1)) {
            int total = 0;
            for (Batch b = eval.next(Batch.allocate(4, 16)); b.count() > 0; b = eval.next(b)) {
                total += b.count();
            }
            assertEquals(10, total, "evaluation skips them without replacement");
        }
    }

    /** The feed dies of an Error (out of memory, a stack overflow in a codec): training hears of it instead of waiting forever. */
    @Test
    void anErrorInTheReaderEndsTheFeedWithItsError() {
        List<ImageRow> good = trainRows.stream().filter(r -> !r.isSkipped()).toList();
        java.util.Iterator<ImageRow> dying = new java.util.Iterator<>() {
            private int served;

            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public ImageRow next() {
                if (served == 5) {
                    throw new OutOfMemoryError("simulated: the shard reader ran out of memory");
                }
                return good.get(served++);
            }
        };
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> {
            try (BatchLoader loader = new BatchLoader(dying, true, 4, ImageTransform.train(16, 0.1, 1, 0), 2)) {
                Batch batch = loader.next(Batch.allocate(4, 16));
                return org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> loader.next(batch));
            }
        });
        assertTrue(e.getMessage().contains("simulated: the shard reader ran out of memory"), e.getMessage());
    }

    @Test
    void sampleIsDeterministicFromTheSeed() {
        assertTrue(java.util.Arrays.equals(SampleImageNet.jpeg(2, 10, 42), SampleImageNet.jpeg(2, 10, 42)));
        assertNotEquals(0, SampleImageNet.jpeg(2, 10, 42).length);
    }
}
