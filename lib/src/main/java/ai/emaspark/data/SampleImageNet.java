package ai.emaspark.data;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.MatOfInt;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * Writes a small dataset in the ILSVRC2012 layout, straight to any Hadoop FileSystem: real JPEG
 * files {@code train/<wnid>/<wnid>_<n>.JPEG}, a flat {@code val/ILSVRC2012_val_<n>.JPEG} split
 * labelled by {@code LOC_val_solution.csv}, and {@code LOC_synset_mapping.txt}, as Kaggle ships
 * ImageNet. Each class is a colour family and a stripe orientation under noise, random sizes and
 * positions: learnable by a small network in a few epochs, deterministic from the seed.
 */
public final class SampleImageNet {
    /** The first ImageNet classes, so the sample looks like the real thing. */
    private static final String[][] SYNSETS = {
        {"n01440764", "tench, Tinca tinca"},
        {"n01443537", "goldfish, Carassius auratus"},
        {"n01484850", "great white shark, white shark, man-eater"},
        {"n01491361", "tiger shark, Galeocerdo cuvieri"},
        {"n01494475", "hammerhead, hammerhead shark"},
        {"n01496331", "electric ray, crampfish, numbfish, torpedo"},
        {"n01498041", "stingray"},
        {"n01514668", "cock"},
        {"n01514859", "hen"},
        {"n01518878", "ostrich, Struthio camelus"},
    };

    private final FileSystem fs;
    private final Path root;
    private final long seed;

    public SampleImageNet(FileSystem fs, Path root, long seed) {
        this.fs = fs;
        this.root = root;
        this.seed = seed;
    }

    /** Writes the dataset; returns the number of image files written (bad ones included). */
    public int write(int classes, int trainPerClass, int valPerClass, boolean plantBadFiles) throws IOException {
        if (classes < 2) {
            throw new IllegalArgumentException("classes must be at least 2");
        }
        OpenCvLoader.load();
        int written = 0;
        StringBuilder mapping = new StringBuilder();
        for (int c = 0; c < classes; c++) {
            String wnid = wnid(c);
            mapping.append(wnid).append(' ').append(name(c)).append('\n');
            for (int n = 1; n <= trainPerClass; n++) {
                writeFile(new Path(root, "train/" + wnid + "/" + wnid + "_" + n + ".JPEG"), jpeg(c, classes, Seeds.mix(seed, c, n)));
                written++;
            }
        }
        StringBuilder solution = new StringBuilder("ImageId,PredictionString\n");
        SplittableRandom order = new SplittableRandom(Seeds.mix(seed, -1));
        int total = classes * valPerClass;
        for (int i = 1; i <= total; i++) {
            int c = order.nextInt(classes);
            String id = String.format("ILSVRC2012_val_%08d", i);
            writeFile(new Path(root, "val/" + id + ".JPEG"), jpeg(c, classes, Seeds.mix(seed, c, -i)));
            solution.append(id).append(',').append(wnid(c)).append(" 0 0 63 63\n");
            written++;
        }
        writeFile(new Path(root, ImageNetSources.VAL_SOLUTION), solution.toString().getBytes(StandardCharsets.UTF_8));
        writeFile(new Path(root, "LOC_synset_mapping.txt"), mapping.toString().getBytes(StandardCharsets.UTF_8));
        if (plantBadFiles) {
            written += plantBadFiles();
        }
        return written;
    }

    /**
     * Writes only a training split, one tar per class as ImageNet ships it
     * ({@code train/<wnid>.tar}): the quick way to a large sample. Returns the number of images.
     */
    public long writeTars(int classes, int perClass) throws IOException {
        OpenCvLoader.load();
        long written = 0;
        for (int c = 0; c < classes; c++) {
            String wnid = wnid(c);
            try (OutputStream file = fs.create(new Path(root, "train/" + wnid + ".tar"), true);
                    org.apache.commons.compress.archivers.tar.TarArchiveOutputStream tar =
                            new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(file)) {
                for (int n = 1; n <= perClass; n++) {
                    byte[] image = jpeg(c, classes, Seeds.mix(seed, c, n));
                    org.apache.commons.compress.archivers.tar.TarArchiveEntry entry =
                            new org.apache.commons.compress.archivers.tar.TarArchiveEntry(wnid + "_" + n + ".JPEG");
                    entry.setSize(image.length);
                    tar.putArchiveEntry(entry);
                    tar.write(image);
                    tar.closeArchiveEntry();
                    written++;
                }
            }
        }
        return written;
    }

    /** The class's wnid: ImageNet's first ten, then made-up ones. */
    static String wnid(int c) {
        return c < SYNSETS.length ? SYNSETS[c][0] : String.format("n9%07d", c);
    }

    private static String name(int c) {
        return c < SYNSETS.length ? SYNSETS[c][1] : "synthetic class " + c;
    }

    /** A truncated JPEG and an empty file in train, a non-image in val: ImageNet-like damage. */
    private int plantBadFiles() throws IOException {
        byte[] good = jpeg(0, 2, Seeds.mix(seed, 99));
        byte[] truncated = java.util.Arrays.copyOf(good, 20);
        String first = wnid(0);
        String second = wnid(1);
        writeFile(new Path(root, "train/" + first + "/" + first + "_truncated.JPEG"), truncated);
        writeFile(new Path(root, "train/" + second + "/" + second + "_empty.JPEG"), new byte[0]);
        return 2;
    }

    private void writeFile(Path path, byte[] bytes) throws IOException {
        try (OutputStream out = fs.create(path, true)) {
            out.write(bytes);
        }
    }

    /** One image of class {@code c}: the class's hue and stripe angle, with per-image jitter and noise. */
    static byte[] jpeg(int c, int classes, long imageSeed) {
        SplittableRandom random = new SplittableRandom(imageSeed);
        int width = 72 + random.nextInt(48);
        int height = 64 + random.nextInt(40);
        double angle = Math.PI * c / classes + random.nextGaussian() * 0.08;
        double period = 9 + random.nextDouble() * 4;
        double phase = random.nextDouble() * 2 * Math.PI;
        double[] color = classColor(c, classes);
        byte[] pixels = new byte[width * height * 3];
        double cos = Math.cos(angle);
        double sin = Math.sin(angle);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                double stripe = 0.5 + 0.5 * Math.sin(2 * Math.PI * (x * cos + y * sin) / period + phase);
                for (int ch = 0; ch < 3; ch++) {
                    double value = color[ch] * (0.45 + 0.55 * stripe) + random.nextGaussian() * 18;
                    pixels[(y * width + x) * 3 + ch] = (byte) Math.max(0, Math.min(255, (int) Math.round(value)));
                }
            }
        }
        Mat image = new Mat(height, width, CvType.CV_8UC3);
        image.put(0, 0, pixels);
        MatOfByte encoded = new MatOfByte();
        Imgcodecs.imencode(".jpg", image, encoded, new MatOfInt(Imgcodecs.IMWRITE_JPEG_QUALITY, 90));
        byte[] bytes = encoded.toArray();
        image.release();
        encoded.release();
        return bytes;
    }

    /** BGR colour of a class: hues spread around the circle. */
    private static double[] classColor(int c, int classes) {
        double hue = 2 * Math.PI * c / classes;
        List<Double> bgr = new ArrayList<>();
        for (int ch = 0; ch < 3; ch++) {
            bgr.add(140 + 100 * Math.cos(hue + ch * 2 * Math.PI / 3));
        }
        return new double[] {bgr.get(0), bgr.get(1), bgr.get(2)};
    }
}
