package ai.emaspark.jobs;

import ai.emaspark.data.ImageTransform;
import ai.emaspark.data.OpenCvLoader;
import ai.emaspark.data.RgbImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.opencv.core.Core;

/**
 * Our half of the decode benchmark: decode + pycls train transform of the JPEGs in a folder, on
 * one thread, bytes already in memory. {@code DecodeBench DIR [--size 224] [--seconds 10] [--repeat 3]}
 * prints one JSON line like jobs/bench/decode_bench.py does for its peers.
 */
public final class DecodeBench {
    private DecodeBench() {}

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        int size = 224;
        double seconds = 10;
        int repeat = 3;
        for (int i = 1; i < args.length; i += 2) {
            switch (args[i]) {
                case "--size" -> size = Integer.parseInt(args[i + 1]);
                case "--seconds" -> seconds = Double.parseDouble(args[i + 1]);
                case "--repeat" -> repeat = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<byte[]> images = read(dir);
        OpenCvLoader.load();
        Core.setNumThreads(1); // one core, as the peers
        ImageTransform transform = ImageTransform.train(size, 0.1, 1, 0);
        float[] out = new float[3 * size * size];
        for (int i = 0; i < 20; i++) {
            transform.apply("warmup" + i, images.get(i % images.size()), out, 0);
        }
        double best = 0;
        double bestCpu = 0;
        for (int r = 0; r < repeat; r++) {
            double[] rates = run(images, transform, out, seconds);
            best = Math.max(best, rates[0]);
            bestCpu = Math.max(bestCpu, rates[1]);
        }
        double meanKb = images.stream().mapToInt(b -> b.length).average().orElse(0) / 1024;
        System.out.printf("{\"peer\": \"emaspark\", \"images_per_s\": %.1f, \"images_per_cpu_s\": %.1f, \"images\": %d, "
                + "\"mean_kb\": %.1f, \"threads\": 1, \"decoder\": \"%s\", \"versions\": {\"opencv\": \"%s\", \"java\": \"%s\"}}%n",
                best, bestCpu, images.size(), meanKb, RgbImage.decoder(), Core.VERSION, System.getProperty("java.version"));
    }

    /** {images per wall-clock second, images per CPU second of this thread}. */
    private static double[] run(List<byte[]> images, ImageTransform transform, float[] out, double seconds) {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpuStart = threads.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        long deadline = start + (long) (seconds * 1e9);
        int done = 0;
        while (System.nanoTime() < deadline) {
            transform.apply("k" + done, images.get(done % images.size()), out, 0);
            done++;
        }
        double wall = (System.nanoTime() - start) / 1e9;
        double cpu = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        return new double[] {done / wall, done / cpu};
    }

    private static List<byte[]> read(Path dir) throws IOException {
        List<byte[]> images = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.sorted().toList()) {
                String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
                if (name.endsWith(".jpg") || name.endsWith(".jpeg")) {
                    images.add(Files.readAllBytes(file));
                }
            }
        }
        if (images.isEmpty()) {
            throw new IOException("no JPEG files in " + dir);
        }
        return images;
    }
}
