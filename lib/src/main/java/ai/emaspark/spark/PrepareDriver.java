package ai.emaspark.spark;

import ai.emaspark.data.DatasetException;
import ai.emaspark.data.ImageNetSources;
import ai.emaspark.data.ImageRow;
import ai.emaspark.data.Manifest;
import ai.emaspark.data.ShardInfo;
import ai.emaspark.data.SourceReader;
import ai.emaspark.data.SourceUnit;
import ai.emaspark.fs.Replace;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The prepare job's driver: ImageNet as found on HDFS → Parquet shards of about a target size
 * plus manifest.json. Tasks read and check the images of a class folder, tar or file list; a
 * shuffle on (shard, key hash) spreads every class over every shard in a fixed pseudo-random order;
 * each shard task writes one file. The driver sees folder names, counts and checksums, never image
 * bytes. Everything is written under a temporary folder and moved into place at the end (replacing an
 * existing output only when asked, and only then); a failed run removes its temporary folder.
 */
public final class PrepareDriver {
    private static final Logger LOG = LoggerFactory.getLogger(PrepareDriver.class);
    private static final int PROGRESS_SECONDS = 10;

    private final Path source;
    private final Path output;
    private final long shardBytes;
    private final ImageNetSources sources;
    private final Map<String, String> hadoopSettings;
    private final boolean overwrite;
    private final long maxPixels;

    private PrepareDriver(Path source, Path output, long shardBytes, ImageNetSources sources, Map<String, String> hadoopSettings,
            boolean overwrite, long maxPixels) {
        this.source = source;
        this.output = output;
        this.shardBytes = shardBytes;
        this.sources = sources;
        this.hadoopSettings = hadoopSettings;
        this.overwrite = overwrite;
        this.maxPixels = maxPixels;
    }

    /** {@link #plan(Path, Path, long, boolean, long)} without overwriting, with the default pixel limit. */
    public static PrepareDriver plan(Path source, Path output, long shardBytes) throws IOException {
        return plan(source, output, shardBytes, false, ai.emaspark.data.ImageLimits.DEFAULT_MAX_PIXELS);
    }

    /**
     * Checks the input before Spark starts: the source lists as ImageNet, the output does not exist
     * (unless {@code overwrite}). Images of more than {@code maxPixels} pixels are left out and listed.
     */
    public static PrepareDriver plan(Path source, Path output, long shardBytes, boolean overwrite, long maxPixels)
            throws IOException {
        SparkConf spark = new SparkConf();
        Map<String, String> settings = HadoopSettings.of(spark);
        Configuration conf = HadoopSettings.configuration(settings);
        for (Object[] given : new Object[][] {{"--src", source}, {"--out", output}}) {
            String problem = SharedPaths.problem(spark, conf, (String) given[0], (Path) given[1]);
            if (problem != null) {
                throw new DatasetException(problem);
            }
        }
        ImageNetSources sources = ImageNetSources.scan(source.getFileSystem(conf), source);
        if (!overwrite && output.getFileSystem(conf).exists(output)) {
            throw new DatasetException("output " + output + " already exists: choose another --out, or add --overwrite to "
                    + "replace it once the new one is complete");
        }
        LOG.info("source {}: {} classes, {} train units (folders or tars), {} val units{}", source, sources.classes().size(),
                sources.train().size(), sources.val().size(),
                sources.unlabeled().isEmpty() ? "" : ", " + sources.unlabeled().size() + " val files without a label");
        return new PrepareDriver(source, output, shardBytes, sources, settings, overwrite, maxPixels);
    }

    public Manifest run() throws IOException {
        try (JavaSparkContext jsc = new JavaSparkContext(new SparkConf().setAppName("emaspark-prepare"))) {
            return run(jsc);
        }
    }

    public Manifest run(JavaSparkContext jsc) throws IOException {
        Configuration conf = HadoopSettings.configuration(hadoopSettings);
        FileSystem fs = output.getFileSystem(conf);
        Path temp = new Path(output.getParent(), "." + output.getName() + ".tmp-" + UUID.randomUUID());
        try {
            Manifest manifest = prepare(jsc, fs, temp);
            if (overwrite) {
                Replace.replace(fs, temp, output);
            } else {
                Replace.move(fs, temp, output);
            }
            return manifest;
        } catch (Exception e) { // SparkException too, undeclared through Scala
            jsc.cancelAllJobs();
            fs.delete(temp, true); // a failed run leaves no dataset-sized folder behind
            throw e;
        }
    }

    private Manifest prepare(JavaSparkContext jsc, FileSystem fs, Path temp) throws IOException {
        Map<String, Manifest.Split> splits = new LinkedHashMap<>();
        splits.put("train", prepareSplit(jsc, "train", sources.train(), new Path(temp, "train")));
        if (!sources.val().isEmpty()) {
            Manifest.Split val = prepareSplit(jsc, "val", sources.val(), new Path(temp, "val"));
            List<Manifest.Skipped> skipped = new ArrayList<>(val.skipped());
            sources.unlabeled().forEach(file -> skipped.add(new Manifest.Skipped(file, "no label in LOC_val_solution.csv")));
            splits.put("val", new Manifest.Split(val.images(), val.bytes(), val.shards(), skipped));
        }
        Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, source.toString(), sources.classes(), sources.classNames(), splits);
        LOG.info("driver heap: peak {} MB used (of {} MB max)", HeapPeak.megabytes(), Runtime.getRuntime().maxMemory() >> 20);
        manifest.write(fs, temp);
        return manifest;
    }

    private Manifest.Split prepareSplit(JavaSparkContext jsc, String split, List<SourceUnit> units, Path dir) throws IOException {
        long start = System.nanoTime();
        dir.getFileSystem(HadoopSettings.configuration(hadoopSettings)).mkdirs(dir); // shard tasks do not make folders
        List<String> classes = sources.classes();
        Map<String, String> settings = hadoopSettings;
        ai.emaspark.data.ImageLimits limits = ai.emaspark.data.ImageLimits.ofPixels(maxPixels);
        int parallelism = Math.max(1, Math.min(units.size(), 4 * jsc.defaultParallelism()));
        long[] size = jsc.parallelize(units, parallelism)
                .map(unit -> new SourceReader(HadoopSettings.configuration(settings), classes).size(unit))
                .reduce((a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
        int shards = (int) Math.max(1, (size[0] + shardBytes - 1) / shardBytes);
        LOG.info("{}: {} MB in {} units → {} shard(s) of about {} MB", split, size[0] >> 20, units.size(), shards, shardBytes >> 20);

        List<ShardTask.Result> results;
        try (PrepareProgress progress = new PrepareProgress(jsc.sc(), split, size[1], size[0], PROGRESS_SECONDS)) {
            LongAccumulator filesRead = progress.files();
            LongAccumulator bytesRead = progress.bytes();
            JavaPairRDD<ShardKey, ImageRow> rows = jsc.parallelize(units, parallelism).flatMapToPair(unit -> {
                NodeSetup.onExecutor(); // decoding checks load JavaCPP's natives
                List<Tuple2<ShardKey, ImageRow>> out = new ArrayList<>();
                new SourceReader(HadoopSettings.configuration(settings), classes, limits).read(unit, row -> {
                    out.add(new Tuple2<>(ShardKey.of(row.key(), shards), row));
                    filesRead.add(1);
                    bytesRead.add(row.image() == null ? 0 : row.image().length);
                });
                return out.iterator();
            });
            String dirName = dir.toString();
            results = rows
                    .repartitionAndSortWithinPartitions(new ShardKey.Partitioner(shards), new ShardKey.Order())
                    .mapPartitionsWithIndex((index, it) -> List.of(ShardTask.write(it, dirName, split, index, shards,
                            HadoopSettings.configuration(settings))).iterator(), false)
                    .collect();
        }

        List<ShardInfo> written = results.stream().map(ShardTask.Result::shard).filter(java.util.Objects::nonNull)
                .sorted(Comparator.comparing(ShardInfo::name)).toList();
        LOG.info("{}: executor heap peak {} MB (largest over the shard tasks' JVMs)", split,
                results.stream().mapToLong(ShardTask.Result::heapPeakMb).max().orElse(0));
        List<Manifest.Skipped> skipped = results.stream().flatMap(r -> r.skipped().stream())
                .sorted(Comparator.comparing(Manifest.Skipped::source)).toList();
        long images = written.stream().mapToLong(ShardInfo::rows).sum();
        long bytes = written.stream().mapToLong(ShardInfo::bytes).sum();
        double seconds = (System.nanoTime() - start) / 1e9;
        LOG.info("{}: {} images in {} shard(s), {} MB, {} skipped, {} s ({} MB/s)", split, images, written.size(), bytes >> 20,
                skipped.size(), String.format("%.1f", seconds), String.format("%.1f", (size[0] / 1e6) / seconds));
        for (Manifest.Skipped s : skipped) {
            LOG.warn("{}: skipped {}: {}", split, s.source(), s.reason());
        }
        return new Manifest.Split(images, bytes, written, skipped);
    }

    /** Where a row goes: its shard, and its place inside it (a hash of the key: classes interleave). */
    record ShardKey(int shard, long hash, String key) implements Serializable {
        static ShardKey of(String key, int shards) {
            long hash = ai.emaspark.data.Seeds.ofKey(key);
            return new ShardKey((int) Math.floorMod(hash, (long) shards), hash, key);
        }

        static final class Partitioner extends org.apache.spark.Partitioner {
            private static final long serialVersionUID = 1L;
            private final int shards;

            Partitioner(int shards) {
                this.shards = shards;
            }

            @Override
            public int numPartitions() {
                return shards;
            }

            @Override
            public int getPartition(Object key) {
                return ((ShardKey) key).shard();
            }
        }

        static final class Order implements Comparator<ShardKey>, Serializable {
            private static final long serialVersionUID = 1L;

            @Override
            public int compare(ShardKey a, ShardKey b) {
                int byHash = Long.compare(a.hash(), b.hash());
                return byHash != 0 ? byHash : a.key().compareTo(b.key());
            }
        }
    }
}
