package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.config.Config;
import ai.emaspark.config.ConfigLoader;
import ai.emaspark.data.SampleImageNet;
import ai.emaspark.jobs.local.EmbeddedHdfs;
import ai.emaspark.jobs.local.MultiHostCluster;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.StateLayout;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * What the integration tests share, started once per test JVM and stopped when the last test
 * finished: the multi-host platform (when this machine can make network namespaces: two workers
 * with two cores and two fake GPUs each, links shaped to 10 Gbit/s), an embedded
 * HDFS on its bridge address, the prepared sample dataset, and one fault-free training run that
 * every fault and every cluster manager must reproduce bit for bit.
 */
final class ItPlatform implements ExtensionContext.Store.CloseableResource {
    static final int EPOCHS = 3;
    /** Images of the sample's training split: 10 classes x 64. */
    static final int TRAIN_IMAGES = 640;

    final Path work = SparkSubmitRun.JOBS.resolve("target/it");
    /** Null when namespaces cannot be made here; {@link #clusterMissing} says why. */
    final MultiHostCluster cluster;
    final String clusterMissing;
    final String host;
    final MiniDFSCluster hdfs;
    final FileSystem fs;
    final String uri;
    /** host:port of the NameNode's WebHDFS (what Python readers use). */
    final String webHdfs;
    /** The sample in the ILSVRC2012 layout (Prepare's input). */
    final String raw;
    final String dataset;
    final String prepareOutput;
    final Config cfg;
    final StateLayout layout;
    private Reference reference;
    private String postHocSweep;

    /** The fault-free run: its OUT_DIR, its driver log and the folder of the EMA snapshots it applied. */
    record Reference(String outDir, String output, Path snapshots, Checkpoint last) {}

    /** Gives test classes the platform as a parameter of their methods. */
    static final class Resolver implements ParameterResolver {
        @Override
        public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
            return parameter.getParameter().getType() == ItPlatform.class;
        }

        @Override
        public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
            return get(context);
        }
    }

    static ItPlatform get(ExtensionContext context) {
        return context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
                .getOrComputeIfAbsent(ItPlatform.class, key -> {
                    try {
                        return new ItPlatform();
                    } catch (Exception e) {
                        throw new IllegalStateException("the integration test platform did not start", e);
                    }
                }, ItPlatform.class);
    }

    private ItPlatform() throws Exception {
        MultiHostCluster.Start start = MultiHostCluster.start(SparkSubmitRun.JOBS, "--workers", "2", "--cores", "2", "--gpus", "2",
                "--rate", "10gbit");
        cluster = start.cluster();
        clusterMissing = cluster == null ? start.output() : null;
        if (cluster == null) {
            System.err.println("multi-host tests skipped: " + clusterMissing); // once, in the build's output
        }
        host = cluster == null ? "localhost" : MultiHostCluster.HOST;
        hdfs = EmbeddedHdfs.start(work.resolve("hdfs"), host, 0, 0);
        uri = EmbeddedHdfs.uri(host, hdfs);
        fs = FileSystem.newInstance(URI.create(uri), EmbeddedHdfs.clientConf(host));
        webHdfs = host + ":" + hdfs.getNameNode().getHttpAddress().getPort();
        raw = uri + "/data/sample-raw";
        dataset = uri + "/data/sample-imagenet";
        new SampleImageNet(fs, new org.apache.hadoop.fs.Path(raw), 0).write(10, 64, 12, true);
        SparkSubmitRun prepare = SparkSubmitRun.startPrepare(cluster(), work.resolve("logs/prepare.log"),
                "--src", raw, "--out", dataset, "--shard-mb", "1");
        assertEquals(0, prepare.waitFor(5), () -> "prepare failed; see " + prepare.log);
        prepareOutput = prepare.output();
        cfg = ConfigLoader.load(Files.readString(SparkSubmitRun.ROOT.resolve("conf/quickstart.yaml")), "quickstart.yaml",
                List.of("TRAIN.DATASET", dataset, "OUT_DIR", uri + "/unused", "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS)));
        try (Replica replica = new Replica(ModelSpec.of(cfg), SgdSettings.of(cfg), Device.cpu())) {
            layout = replica.tensors().layout();
        }
    }

    /** The multi-host platform when there is one, else local-cluster with two executor JVMs. */
    SparkSubmitRun.Target cluster() {
        return cluster != null
                ? new SparkSubmitRun.Target(List.of("--properties-file", cluster.sparkConf().toString()), Map.of())
                : local();
    }

    /** local-cluster with two executor JVMs on this host. */
    SparkSubmitRun.Target local() {
        return new SparkSubmitRun.Target(List.of("--properties-file", SparkSubmitRun.ROOT.resolve("conf/spark-local.conf").toString(),
                "--conf", "spark.hadoop.dfs.client.use.datanode.hostname=" + !host.equals("localhost")), Map.of());
    }

    /** The training run without faults (run on first use): 3 epochs, snapshots of the EMA's inputs kept. */
    synchronized Reference reference() throws Exception {
        if (reference == null) {
            Path snapshots = work.resolve("snapshots-reference");
            deleteRecursively(snapshots);
            String outDir = uri + "/runs/reference";
            SparkSubmitRun run = SparkSubmitRun.startTrain(cluster().withEnv("EMASPARK_DRIVER_OPTS",
                    "-Demaspark.debug.emaSnapshotDir=" + snapshots), work.resolve("logs/reference.log"),
                    "TRAIN.DATASET", dataset, "OUT_DIR", outDir, "OPTIM.MAX_EPOCH", String.valueOf(EPOCHS));
            assertEquals(0, run.waitFor(10), () -> "the reference run failed; see " + run.log);
            reference = new Reference(outDir, run.output(), snapshots, lastCheckpoint(outDir));
        }
        return reference;
    }

    /**
     * PostHocEma's sweep of the reference run (run on first use): sigma_rel 0.05 to 0.25 in steps of 0.05,
     * each tested, written to OUT_DIR/posthoc/reconstructed_r*; returns the tool's output.
     */
    synchronized String postHocSweep() throws Exception {
        if (postHocSweep == null) {
            SparkSubmitRun run = SparkSubmitRun.startPostHoc(cluster(), work.resolve("logs/posthoc.log"),
                    "--run", reference().outDir(), "--sweep", "0.05,0.25,0.05", "--eval");
            assertEquals(0, run.waitFor(10), () -> "PostHocEma failed; see " + run.log);
            postHocSweep = run.output();
        }
        return postHocSweep;
    }

    Checkpoint lastCheckpoint(String outDir) throws IOException {
        CheckpointStore store = store(outDir);
        List<org.apache.hadoop.fs.Path> committed = store.committed();
        return store.load(committed.get(committed.size() - 1), layout);
    }

    /** The checkpoints of an OUT_DIR on the platform's HDFS or on file://. */
    CheckpointStore store(String outDir) throws IOException {
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(outDir);
        return new CheckpointStore(dir.toUri().getScheme().equals("file") ? dir.getFileSystem(fs.getConf()) : fs, dir);
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Override
    public void close() throws Exception {
        try {
            fs.close();
            hdfs.shutdown();
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
    }
}
