package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.data.DatasetException;
import ai.emaspark.data.ImageRow;
import ai.emaspark.data.Manifest;
import ai.emaspark.data.OpenCvLoader;
import ai.emaspark.data.SampleImageNet;
import ai.emaspark.data.ShardInfo;
import ai.emaspark.data.ShardReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * The prepare job on a small ILSVRC tree on HDFS, with ImageNet's kinds of damage planted: a PNG
 * saved as .JPEG, a grayscale JPEG, a CMYK JPEG, a truncated JPEG, a truncated progressive JPEG, a
 * decompression bomb (a small progressive JPEG whose header claims 60000 x 60000 pixels), an empty file,
 * a text file named .JPEG, one class as the original tar, a flat validation folder with an image
 * missing from the solution file.
 */
class PrepareDriverTest {
    private static MiniDFSCluster cluster;
    private static FileSystem fs;
    private static JavaSparkContext jsc;
    private static final String SRC = "/imagenet";

    @BeforeAll
    static void start() throws Exception {
        cluster = ai.emaspark.fs.TestHdfs.start("prepare-hdfs");
        fs = cluster.getFileSystem();
        new SampleImageNet(fs, new Path(SRC), 3).write(4, 12, 3, false);
        plantDamage();
        jsc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("prepare-test")
                .set("spark.ui.enabled", "false"));
    }

    @AfterAll
    static void stop() {
        jsc.close();
        cluster.shutdown();
    }

    private static void plantDamage() throws Exception {
        OpenCvLoader.load();
        String a = "n01440764";
        String b = "n01443537";
        write("/imagenet/train/" + a + "/" + a + "_png.JPEG", encode(".png", color(60, 80)));
        write("/imagenet/train/" + a + "/" + a + "_gray.JPEG", encode(".jpg", gray(50, 70)));
        write("/imagenet/train/" + a + "/" + a + "_cmyk.JPEG", ai.emaspark.data.CmykJpegs.adobeCmyk());
        byte[] good = encode(".jpg", color(64, 64));
        write("/imagenet/train/" + b + "/" + b + "_cut.JPEG", java.util.Arrays.copyOf(good, good.length / 2));
        write("/imagenet/train/" + b + "/" + b + "_empty.JPEG", new byte[0]);
        byte[] progressive = progressiveJpeg(color(64, 64));
        write("/imagenet/train/" + b + "/" + b + "_progressive_cut.JPEG", java.util.Arrays.copyOf(progressive, progressive.length * 2 / 3));
        write("/imagenet/train/" + b + "/" + b + "_bomb.JPEG", claimSize(progressive, 60000, 60000));
        write("/imagenet/train/" + b + "/" + b + "_text.JPEG", "<html>not an image</html>".getBytes(StandardCharsets.UTF_8));
        // class n01484850 as ImageNet ships it: one tar of its JPEGs, no folder
        String c = "n01484850";
        ByteArrayOutputStream tarBytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(tarBytes)) {
            for (org.apache.hadoop.fs.FileStatus status : fs.listStatus(new Path("/imagenet/train/" + c))) {
                byte[] bytes;
                try (InputStream in = fs.open(status.getPath())) {
                    bytes = in.readAllBytes();
                }
                TarArchiveEntry entry = new TarArchiveEntry(status.getPath().getName());
                entry.setSize(bytes.length);
                tar.putArchiveEntry(entry);
                tar.write(bytes);
                tar.closeArchiveEntry();
            }
        }
        fs.delete(new Path("/imagenet/train/" + c), true);
        write("/imagenet/train/" + c + ".tar", tarBytes.toByteArray());
        write("/imagenet/val/ILSVRC2012_val_00009999.JPEG", good); // not in LOC_val_solution.csv
    }

    private static Mat color(int h, int w) {
        return new Mat(h, w, CvType.CV_8UC3, new Scalar(30, 120, 220));
    }

    private static Mat gray(int h, int w) {
        return new Mat(h, w, CvType.CV_8UC1, new Scalar(99));
    }

    private static byte[] progressiveJpeg(Mat image) {
        MatOfByte out = new MatOfByte();
        Imgcodecs.imencode(".jpg", image, out, new org.opencv.core.MatOfInt(Imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1));
        return out.toArray();
    }

    /** The JPEG with its frame header (SOF) rewritten to claim another size: the data stays a few KB. */
    static byte[] claimSize(byte[] jpeg, int width, int height) {
        byte[] bomb = jpeg.clone();
        for (int i = 2; i + 8 < bomb.length; ) {
            int marker = bomb[i + 1] & 0xff;
            int length = ((bomb[i + 2] & 0xff) << 8) | (bomb[i + 3] & 0xff);
            if (marker == 0xC0 || marker == 0xC2) {
                bomb[i + 5] = (byte) (height >> 8);
                bomb[i + 6] = (byte) height;
                bomb[i + 7] = (byte) (width >> 8);
                bomb[i + 8] = (byte) width;
                return bomb;
            }
            i += 2 + length;
        }
        throw new IllegalArgumentException("no frame header");
    }

    private static byte[] encode(String ext, Mat image) {
        MatOfByte out = new MatOfByte();
        Imgcodecs.imencode(ext, image, out);
        return out.toArray();
    }

    private static void write(String path, byte[] bytes) throws Exception {
        try (OutputStream out = fs.create(new Path(path), true)) {
            out.write(bytes);
        }
    }

    @Test
    void shardsHoldEveryGoodImageWithItsLabelAndTheManifestListsTheRest() throws Exception {
        Path out = new Path(fs.getUri() + "/prepared");
        Manifest manifest = PrepareDriver.plan(new Path(fs.getUri() + SRC), out, 100_000).run(jsc);

        assertEquals(List.of("n01440764", "n01443537", "n01484850", "n01491361"), manifest.classes());
        assertEquals("tench, Tinca tinca", manifest.classNames().get("n01440764"));
        Manifest.Split train = manifest.splits().get("train");
        assertEquals(4 * 12 + 3, train.images(), "48 sample images + the PNG-as-JPEG, the grayscale and the CMYK one");
        Map<String, String> skipped = new HashMap<>();
        train.skipped().forEach(s -> skipped.put(s.source().substring(s.source().lastIndexOf('/') + 1), s.reason()));
        assertEquals(Map.of(
                "n01443537_cut.JPEG", "truncated JPEG (no end-of-image marker)",
                "n01443537_progressive_cut.JPEG", "truncated JPEG (no end-of-image marker)",
                "n01443537_bomb.JPEG", "image of 60,000 x 60,000 pixels exceeds the limit of 89,478,485 pixels "
                        + "(a decompression bomb, or set a higher limit)",
                "n01443537_empty.JPEG", "empty file",
                "n01443537_text.JPEG", "not a decodable image (25 bytes)"), skipped);
        assertTrue(train.shards().size() > 1, "small target size: several shards");
        assertEquals(manifest, Manifest.read(fs, out), "manifest.json round-trips");

        Set<String> keys = new HashSet<>();
        Map<Integer, Integer> perLabel = new HashMap<>();
        for (ShardInfo shard : train.shards()) {
            Path file = new Path(out, "train/" + shard.name());
            byte[] bytes;
            try (InputStream in = fs.open(file)) {
                bytes = in.readAllBytes();
            }
            assertEquals(shard.bytes(), bytes.length);
            assertEquals(shard.sha256(), HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
            long rows = 0;
            try (ShardReader reader = new ShardReader(file, fs.getConf())) {
                for (ImageRow row = reader.next(); row != null; row = reader.next()) {
                    rows++;
                    assertTrue(keys.add(row.key()), "each image once: " + row.key());
                    assertEquals(manifest.classes().get(row.label()), row.wnid());
                    assertTrue(row.key().startsWith(row.wnid()), row.key() + " labelled " + row.wnid());
                    perLabel.merge(row.label(), 1, Integer::sum);
                    if (row.key().endsWith("_gray")) {
                        assertEquals(70, row.width());
                        assertEquals(50, row.height());
                    }
                    if (row.key().endsWith("_cmyk")) {
                        org.opencv.core.Mat bgr = ai.emaspark.data.PyclsTransforms.decode(row.image());
                        double[] cyan = bgr.get(8, 8);
                        bgr.release();
                        assertTrue(cyan[0] > 243 && cyan[1] > 243 && cyan[2] < 12, "cyan ink decodes to RGB (0, 255, 255)");
                    }
                }
            }
            assertEquals(shard.rows(), rows);
        }
        assertEquals(Map.of(0, 15, 1, 12, 2, 12, 3, 12), perLabel, "the tar class is there too");

        Manifest.Split val = manifest.splits().get("val");
        assertEquals(12, val.images());
        assertEquals(1, val.skipped().size());
        assertTrue(val.skipped().get(0).source().endsWith("ILSVRC2012_val_00009999.JPEG"));
        assertEquals("no label in LOC_val_solution.csv", val.skipped().get(0).reason());
    }

    @Test
    void anExistingOutputIsReplacedOnlyWhenAskedAndAFailedRunLeavesNoTemporaryFolder() throws Exception {
        Path out = new Path(fs.getUri() + "/prepared-twice");
        fs.mkdirs(new Path(out, "keep-me"));
        assertTrue(assertThrows(DatasetException.class, () -> PrepareDriver.plan(new Path(fs.getUri() + SRC), out, 100_000))
                .getMessage().contains("add --overwrite"));
        assertTrue(fs.exists(new Path(out, "keep-me")), "nothing deleted without being asked");

        // A run that fails half-way (a class folder vanished after the listing): the old output stays,
        // no temporary folder is left.
        new SampleImageNet(fs, new Path("/imagenet-doomed"), 5).write(2, 4, 0, false);
        PrepareDriver doomed = PrepareDriver.plan(new Path(fs.getUri() + "/imagenet-doomed"), out, 100_000, true,
                ai.emaspark.data.ImageLimits.DEFAULT_MAX_PIXELS);
        fs.delete(new Path("/imagenet-doomed/train/n01443537"), true);
        assertThrows(Exception.class, () -> doomed.run(jsc));
        assertEquals(0, fs.globStatus(new Path(fs.getUri() + "/.prepared-twice.tmp-*")).length, "temporary folder removed");
        assertTrue(fs.exists(new Path(out, "keep-me")), "the old output is intact");

        Manifest manifest = PrepareDriver.plan(new Path(fs.getUri() + SRC), out, 100_000, true,
                ai.emaspark.data.ImageLimits.DEFAULT_MAX_PIXELS).run(jsc);
        assertTrue(!fs.exists(new Path(out, "keep-me")), "replaced, as asked");
        assertEquals(manifest, Manifest.read(fs, out));
    }

    @Test
    void badArgumentsFailBeforeSpark() {
        assertTrue(assertThrows(DatasetException.class,
                () -> PrepareDriver.plan(new Path(fs.getUri() + "/nowhere"), new Path(fs.getUri() + "/x"), 1 << 20))
                .getMessage().contains("does not exist"));
        assertTrue(assertThrows(DatasetException.class,
                () -> PrepareDriver.plan(new Path(fs.getUri() + SRC), new Path(fs.getUri() + SRC), 1 << 20))
                .getMessage().contains("already exists"));
    }
}
