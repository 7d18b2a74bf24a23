package ai.emaspark.spark;

import ai.djl.Device;
import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.checkpoint.NumGpusChange;
import ai.emaspark.checkpoint.RunLock;
import ai.emaspark.config.Config;
import ai.emaspark.config.ConfigException;
import ai.emaspark.data.DatasetException;
import ai.emaspark.data.Manifest;
import ai.emaspark.data.ShardInfo;
import ai.emaspark.data.ShardPlan;
import ai.emaspark.ema.EmaRule;
import ai.emaspark.ema.EmaService;
import ai.emaspark.ema.SnapshotFiles;
import ai.emaspark.eval.EvalCounts;
import ai.emaspark.eval.EpochStats;
import ai.emaspark.eval.JsonStats;
import ai.emaspark.eval.StatsLine;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.StateLayout;
import ai.emaspark.train.LrPolicy;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver of a training run: checks its inputs before Spark starts, resumes from OUT_DIR, then
 * per epoch runs the barrier training stage, takes the EMA the service built from rank 0's
 * snapshots, evaluates model and EMA, logs pycls stats and commits a checkpoint.
 */
public final class TrainDriver implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TrainDriver.class);
    /** Test aid: a local folder where the EMA service also writes every snapshot it applies. */
    public static final String SNAPSHOT_DIR_PROPERTY = "emaspark.debug.emaSnapshotDir";

    private final Config cfg;
    private final Path dataRoot;
    private final Manifest.Split train;
    private final Manifest.Split val;
    private final OutDir out;
    private final RunState state;
    private final EpochEvaluation evaluation;

    private TrainDriver(Config cfg, Path dataRoot, Manifest manifest, OutDir out, RunState state) {
        this.cfg = cfg;
        this.dataRoot = dataRoot;
        this.train = manifest.splits().get(cfg.getString("TRAIN.SPLIT"));
        this.val = manifest.splits().get(cfg.getString("TEST.SPLIT"));
        this.out = out;
        this.state = state;
        this.evaluation = new EpochEvaluation(cfg, new EvalStage(cfg, val, new Path(dataRoot, cfg.getString("TEST.SPLIT")).toString()));
    }

    /**
     * Everything that can be known before Spark starts is checked here: the dataset exists and fits
     * the config, the model builds, OUT_DIR is this run's (its lock is taken; a resume must have the
     * stored settings) and the state to start from is loaded. Close the driver to release OUT_DIR.
     */
    public static TrainDriver prepare(Config cfg) throws IOException {
        SparkConf spark = new SparkConf();
        NodeSetup.onDriver(spark); // before layoutOf loads the engine
        Configuration hadoop = HadoopSettings.configuration(HadoopSettings.of(spark));
        Path dataRoot = new Path(cfg.getString("TRAIN.DATASET"));
        String settings = ClusterSettings.problem(spark);
        if (settings != null) {
            throw new ConfigException(settings);
        }
        for (String key : List.of("TRAIN.DATASET", "OUT_DIR")) {
            String problem = SharedPaths.problem(spark, hadoop, key, new Path(cfg.getString(key)));
            if (problem != null) {
                throw new ConfigException(problem);
            }
        }
        Manifest manifest = readManifest(dataRoot.getFileSystem(hadoop), dataRoot);
        if (manifest.classes().size() != cfg.getInt("MODEL.NUM_CLASSES")) {
            throw new DatasetException("MODEL.NUM_CLASSES is " + cfg.getInt("MODEL.NUM_CLASSES") + " but " + dataRoot
                    + " has " + manifest.classes().size() + " classes: set MODEL.NUM_CLASSES " + manifest.classes().size());
        }
        Manifest.Split train = split(manifest, dataRoot, cfg.getString("TRAIN.SPLIT"), "TRAIN.SPLIT");
        Manifest.Split val = split(manifest, dataRoot, cfg.getString("TEST.SPLIT"), "TEST.SPLIT");
        int world = cfg.getInt("NUM_GPUS");
        plan(cfg, train, 0); // fails now if the images do not fill one batch
        LOG.info("dataset {}: {} classes, {} train images in {} shards, {} val images in {} shards, {} replicas", dataRoot,
                manifest.classes().size(), train.images(), train.shards().size(), val.images(), val.shards().size(), world);
        int leftOut = train.skipped().size() + val.skipped().size();
        if (leftOut > 0) {
            LOG.warn("dataset {}: {} files were left out when it was prepared (unreadable or unlabelled; listed in its {})",
                    dataRoot, leftOut, Manifest.FILE);
        }
        // Before the engine loads (seconds): a second run on this OUT_DIR is refused at once.
        OutDir out = OutDir.claim(hadoop, new Path(cfg.getString("OUT_DIR")), OutDir.lockMode(spark));
        try {
            StateLayout layout = layoutOf(cfg);
            DriverMemory memory = DriverMemory.of(layout, cfg.getFloatList("EMA.POWER_SIGMA_RELS").size());
            if (memory.problem() != null) {
                throw new ConfigException(memory.problem());
            }
            LOG.info("{}", memory.describe());
            return new TrainDriver(cfg, dataRoot, manifest, out, RunState.start(cfg, layout, out));
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
    }

    static Manifest readManifest(FileSystem fs, Path dataRoot) throws IOException {
        if (!fs.exists(dataRoot)) {
            throw new DatasetException("dataset path " + dataRoot + " does not exist: check TRAIN.DATASET");
        }
        if (!fs.exists(new Path(dataRoot, Manifest.FILE))) {
            throw new DatasetException(dataRoot + " is not a prepared dataset (no " + Manifest.FILE + "): prepare it with "
                    + "ai.emaspark.jobs.Prepare --src <ImageNet folder> --out " + dataRoot);
        }
        return Manifest.read(fs, dataRoot);
    }

    static Manifest.Split split(Manifest manifest, Path dataRoot, String name, String key) {
        Manifest.Split split = manifest.splits().get(name);
        if (split == null || split.shards().isEmpty()) {
            throw new DatasetException(dataRoot + " has no '" + name + "' split (" + key + "); it has " + manifest.splits().keySet());
        }
        return split;
    }

    static ShardPlan plan(Config cfg, Manifest.Split train, int epoch) {
        int world = cfg.getInt("NUM_GPUS");
        long[] rows = train.shards().stream().mapToLong(ShardInfo::rows).toArray();
        return ShardPlan.of(rows, cfg.getInt("RNG_SEED"), epoch, world, cfg.getInt("TRAIN.BATCH_SIZE") / world,
                cfg.getInt("DATA_LOADER.SHUFFLE_WINDOW"));
    }

    private List<String> shardPaths(String split, Manifest.Split shards) {
        return shardPaths(dataRoot, split, shards);
    }

    static List<String> shardPaths(Path dataRoot, String split, Manifest.Split shards) {
        return shards.shards().stream().map(s -> new Path(new Path(dataRoot, split), s.name()).toString()).toList();
    }

    static StateLayout layoutOf(Config cfg) {
        ModelSpec spec = ModelSpec.of(cfg);
        // pycls logs the same figures (complexity) when it builds a model.
        LOG.info("model {}: {} at {} px", describe(spec), ai.emaspark.model.Models.complexity(spec), spec.imageSize());
        try (Replica replica = new Replica(spec, SgdSettings.of(cfg), Device.cpu())) {
            return replica.tensors().layout();
        }
    }

    private static String describe(ModelSpec spec) {
        return switch (spec.type()) {
            case "resnet" -> "ResNet-" + spec.depth() + " (" + spec.resnet().transFun() + ")";
            default -> spec.type() + " " + spec.anynet().depths() + " blocks, widths " + spec.anynet().widths();
        };
    }

    /** Runs the training loop on a new SparkContext (configured by spark-submit). */
    public void run() throws IOException {
        SparkConf conf = new SparkConf().setAppName("emaspark-train");
        ClusterSlots.request(conf, cfg.getInt("NUM_GPUS"));
        try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
            run(jsc);
        } catch (RunFailedException e) {
            throw new RunFailedException(e.getMessage() + "; " + out.resumeNote(), e);
        } catch (RunLock.LostException e) {
            throw new RunFailedException(e.getMessage(), e); // the run that took OUT_DIR over owns what is there
        }
    }

    /** Releases OUT_DIR's lock. */
    @Override
    public void close() throws IOException {
        out.close();
    }

    public void run(JavaSparkContext jsc) throws IOException {
        out.writeConfig(cfg);
        MetricsLog metrics = new MetricsLog(out.fs, out.dir, state.nextEpoch, out.lock);
        recordNumGpusChange(metrics);
        ClusterSettings cluster = ClusterSettings.of(jsc.getConf());
        SecretSource secret = SecretSource.of(jsc.sc());
        TrainStage stage = new TrainStage(jsc, cluster, cfg.getInt("NUM_GPUS"));
        String dumpDir = System.getProperty(SNAPSHOT_DIR_PROPERTY);
        try (EmaService emaService = new EmaService(cluster.emaBindAddress(), cluster.emaPort(), secret.secret(), cluster.encrypt(),
                dumpDir == null ? null : java.nio.file.Path.of(dumpDir))) {
            LOG.info("EMA service listening on {}:{}; its connections and the ring's are authenticated by a secret {}; {}",
                    cluster.emaBindAddress(), emaService.port(), secret.describe(), cluster.protection());
            LOG.info("{} ({}, {}, {})", cluster.exchange(), ClusterSettings.RING_WIRE, ClusterSettings.RING_BUCKETS,
                    ClusterSettings.RING_STREAMS);
            if (dumpDir != null) {
                java.nio.file.Files.createDirectories(java.nio.file.Path.of(dumpDir));
                SnapshotFiles.write(java.nio.file.Path.of(dumpDir, String.format("start_e%04d.bin", state.nextEpoch)),
                        state.emas.pycls());
            }
            for (int epoch = state.nextEpoch; epoch < cfg.getInt("OPTIM.MAX_EPOCH"); epoch++) {
                runEpoch(jsc, stage, emaService, new EpochContext(cluster, secret), epoch, metrics);
            }
        }
        summarize(metrics);
    }

    /** A resume on another NUM_GPUS, in metrics.jsonl at the first epoch it trains. */
    private void recordNumGpusChange(MetricsLog metrics) {
        if (!state.numGpusChanges.isEmpty() && state.numGpusChanges.get(state.numGpusChanges.size() - 1).epoch() == state.nextEpoch) {
            NumGpusChange change = state.numGpusChanges.get(state.numGpusChanges.size() - 1);
            Map<String, Object> line = new java.util.LinkedHashMap<>();
            line.put("_type", "num_gpus_change");
            line.put("epoch", JsonStats.epochLabel(change.epoch(), cfg.getInt("OPTIM.MAX_EPOCH")));
            line.put("num_gpus_before", change.from());
            line.put("num_gpus", change.to());
            metrics.add(line);
        }
    }

    /** What every epoch's tasks are told about the cluster and the run's secret. */
    private record EpochContext(ClusterSettings cluster, SecretSource secret) {}

    /** pycls's train_model loop body: train the epoch, precise BN, test model and EMA, checkpoint. */
    private void runEpoch(JavaSparkContext jsc, TrainStage stage, EmaService emaService, EpochContext context,
            int epoch, MetricsLog metrics) throws IOException {
        int maxEpoch = cfg.getInt("OPTIM.MAX_EPOCH");
        String label = "epoch " + JsonStats.epochLabel(epoch, maxEpoch);
        ShardPlan plan = plan(cfg, train, epoch);
        List<String> shards = shardPaths(cfg.getString("TRAIN.SPLIT"), train);
        trainEpoch(jsc, stage, emaService, context, label, epoch, plan, shards, metrics);
        if (cfg.getBool("BN.USE_PRECISE_STATS")) {
            jsc.setJobDescription(label + ": precise BN statistics");
            evaluation.preciseBn(jsc, epoch, plan, shards, state);
        }
        EpochEvaluation.Result tested = null;
        if (evaluation.testsAfter(epoch)) {
            jsc.setJobDescription(label + ": test model and EMA");
            tested = evaluation.test(jsc, epoch, state, metrics);
            reportSkipped(epoch, "val", tested.skipped());
        }
        jsc.setJobDescription(null);
        metrics.flush(); // before the checkpoint: a resume then finds every line of the epochs it keeps
        if ((epoch + 1) % cfg.getInt("TRAIN.CHECKPOINT_PERIOD") == 0 || epoch + 1 == maxEpoch) {
            checkpoint(epoch, tested);
        }
    }

    /** The epoch's barrier stage; the EMA of the attempt that succeeded; pycls's train_epoch stats. */
    private void trainEpoch(JavaSparkContext jsc, TrainStage stage, EmaService emaService, EpochContext context, String label,
            int epoch, ShardPlan plan, List<String> shards, MetricsLog metrics) throws IOException {
        double lr = LrPolicy.epochLr(cfg, epoch);
        emaService.beginEpoch(epoch, state.emas, EmaRule.alpha(cfg, epoch));
        long start = System.nanoTime();
        Map<String, String> hadoop = HadoopSettings.of(jsc.getConf());
        TrainStage.Trained trained = stage.run(label, attempt -> {
            emaService.beginAttempt(attempt); // the only attempt the EMA service serves from now on
            return new EpochInputs(cfg, epoch, attempt, lr, plan, shards, state.model, state.optimizer, context.cluster(),
                    context.secret(), emaService.port(), hadoop);
        });
        List<RankResult> results = trained.ranks();
        RankResult rank0 = results.stream().filter(r -> r.rank() == 0).findFirst().orElseThrow();
        state.emas = emaService.finishEpoch(epoch, rank0.attempt(), rank0.snapshotsSent());
        state.model = rank0.model();
        state.optimizer = rank0.optimizer();
        state.step += plan.iterations();
        double trainSeconds = (System.nanoTime() - start) / 1e9;
        metrics.addLogged(trained.iterationStats());
        metrics.add(EpochStats.train(epoch, cfg.getInt("OPTIM.MAX_EPOCH"), rank0.iterations(), lr,
                rank0.lossSum() / rank0.iterations(), rank0.top1ErrSum() / rank0.iterations(),
                rank0.top5ErrSum() / rank0.iterations(), trainSeconds, rank0.seconds() / rank0.iterations(), rank0.times()));
        reportSkipped(epoch, "train", results.stream().flatMap(r -> r.skipped().stream()).toList());
    }

    /** pycls's save_checkpoint, then its best checkpoint, then retention (TRAIN.KEEP_CHECKPOINTS). */
    private void checkpoint(int epoch, EpochEvaluation.Result tested) throws IOException {
        EvalCounts counts = tested == null ? null : tested.counts();
        int postHocPeriod = cfg.getInt("EMA.POSTHOC_PERIOD");
        if (!state.emas.powers().isEmpty() && postHocPeriod > 0
                && ((epoch + 1) % postHocPeriod == 0 || epoch + 1 == cfg.getInt("OPTIM.MAX_EPOCH"))) {
            // Before the checkpoint: a driver that dies between the two redoes the epoch and stores the same bits again.
            LOG.info("stored the power EMAs for post-hoc reconstruction: {}", out.postHoc.commit(epoch, state.emas));
        }
        CheckpointStore store = out.store;
        Path written = store.commit(new Checkpoint(epoch, state.step, state.model, state.emas, state.optimizer,
                counts == null ? 100.0 : counts.modelTop1Err(), counts == null ? 100.0 : counts.modelTop5Err(),
                counts == null ? 100.0 : counts.emaTop1Err(), counts == null ? 100.0 : counts.emaTop5Err(), cfg.toYaml(),
                state.numGpusChanges, tested == null ? Map.of() : tested.powerErrs()));
        LOG.info("Wrote checkpoint to: {}", written);
        if (counts != null) {
            List<String> improved = store.best()
                    .update(written, epoch, counts.modelTop1Err(), counts.emaTop1Err(), tested.powerErrs());
            if (!improved.isEmpty()) {
                LOG.info("best checkpoint: {} of epoch {} kept", String.join(" and ", improved), epoch + 1);
            }
        }
        for (Path pruned : store.prune(cfg.getInt("TRAIN.KEEP_CHECKPOINTS"))) {
            LOG.info("removed checkpoint {} (TRAIN.KEEP_CHECKPOINTS {})", pruned, cfg.getInt("TRAIN.KEEP_CHECKPOINTS"));
        }
    }

    private static void reportSkipped(int epoch, String split, List<String> skipped) {
        if (!skipped.isEmpty()) {
            TreeSet<String> unique = new TreeSet<>(skipped);
            LOG.warn("epoch {}: skipped {} unreadable {} image(s): {}", epoch + 1, unique.size(), split, String.join("; ", unique));
        }
    }

    private void summarize(MetricsLog metrics) {
        List<String> lines = metrics.lines();
        double modelBest = StatsLine.min(lines, "test_epoch", "top1_err");
        double emaBest = StatsLine.min(lines, "test_ema_epoch", "top1_err");
        LOG.info("run finished: best top1_err model {} EMA {}; ema_gain {} (pycls: max(0, min(err) - min(ema_err)))",
                String.format("%.3f", modelBest), String.format("%.3f", emaBest),
                String.format("%.3f", Math.max(0, modelBest - emaBest)));
    }
}
