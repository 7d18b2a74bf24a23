package ai.emaspark.spark;

import ai.emaspark.checkpoint.PostHocStore;
import ai.emaspark.config.Config;
import ai.emaspark.config.ConfigException;
import ai.emaspark.config.ConfigLoader;
import ai.emaspark.data.Manifest;
import ai.emaspark.data.ShardPlan;
import ai.emaspark.ema.PostHocSolver;
import ai.emaspark.ema.PostHocSolver.Profile;
import ai.emaspark.ema.PostHocSolver.Solution;
import ai.emaspark.ema.PowerEma;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.train.PreciseBn;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Post-hoc EMA of a run (Karras et al. 2024, Algorithm 3): the power EMAs stored in OUT_DIR/posthoc/
 * (EMA.POSTHOC_PERIOD) combined into the EMA of each requested σ_rel at the last stored t, each
 * written as {@code OUT_DIR/posthoc/reconstructed_r<σ_rel>/ema.safetensors}. With {@code eval}, each
 * gets precise BN statistics (BN.USE_PRECISE_STATS, the last epoch's batches) and is tested on the
 * validation split as the job tests its EMAs, and the written state is the tested one. Everything but
 * the evaluation is planned and solved without Spark; every problem found then is one line.
 */
public final class PostHocDriver {
    /** The run, the widths wanted, and whether to test them. */
    public record Settings(Path outDir, List<Double> sigmaRels, boolean eval) {}

    /** One width's solution and its weights. */
    public record Reconstruction(double sigmaRel, double gamma, Solution solution, ModelState state) {
        public String name() {
            return "r" + String.format(Locale.ROOT, "%.3f", sigmaRel);
        }
    }

    private final Settings settings;
    private final Config cfg;
    private final FileSystem fs;
    private final PostHocStore store;
    private final List<PostHocStore.Stored> stored;
    private final long updates;

    private PostHocDriver(Settings settings, Config cfg, FileSystem fs, PostHocStore store, List<PostHocStore.Stored> stored) {
        this.settings = settings;
        this.cfg = cfg;
        this.fs = fs;
        this.store = store;
        this.stored = stored;
        this.updates = stored.stream().mapToLong(PostHocStore.Stored::updates).max().orElse(0);
    }

    /** Reads the run's config and its stored power EMAs; refuses, in one line, what cannot be reconstructed. */
    public static PostHocDriver plan(Settings settings, Configuration hadoop) throws IOException {
        for (double sigmaRel : settings.sigmaRels()) {
            if (!(sigmaRel > 0 && sigmaRel <= PowerEma.MAX_SIGMA_REL)) {
                throw new ConfigException("sigma_rel " + sigmaRel + " is not in (0, 0.2887]: ask for relative widths such as 0.05 to 0.25");
            }
        }
        FileSystem fs = settings.outDir().getFileSystem(hadoop);
        Path configFile = new Path(settings.outDir(), OutDir.CONFIG);
        if (!fs.exists(configFile)) {
            throw new ConfigException(settings.outDir() + " has no " + OutDir.CONFIG + ": give the OUT_DIR of a run (--run)");
        }
        String yaml;
        try (InputStream in = fs.open(configFile)) {
            yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Config cfg = ConfigLoader.load(yaml, configFile.toString(), List.of());
        PostHocStore store = new PostHocStore(fs, settings.outDir());
        List<PostHocStore.Stored> stored = store.list();
        if (stored.isEmpty()) {
            throw new ConfigException(store.directory() + " holds no stored power EMAs: train with EMA.POWER_SIGMA_RELS (e.g. "
                    + "[0.05, 0.10]) and EMA.POSTHOC_PERIOD (e.g. 1)");
        }
        return new PostHocDriver(settings, cfg, fs, store, stored);
    }

    /**
     * Why the driver's heap cannot hold a reconstruction of {@code widths} widths of a model of {@code floats}
     * floats, in one line, or null: a double per weight per width while the stored states stream past (one
     * at a time), then each width's float state, and its precise-BN copy when tested.
     */
    static String memoryProblem(long floats, int widths, long heapBytes) {
        long needed = floats * (16L * widths + 8);
        if (needed <= heapBytes) {
            return null;
        }
        return String.format(Locale.ROOT, "reconstructing %d width(s) of %d weights needs about %d MB of the driver's heap "
                + "but it has %d MB: raise spark.driver.memory to at least %d MB, or ask for fewer widths at a time", widths,
                floats, needed >> 20, heapBytes >> 20, (needed * 5 / 4) >> 20);
    }

    /** Solves and combines every width (one stored state in memory at a time); writes nothing. */
    public List<Reconstruction> reconstruct(StateLayout layout) throws IOException {
        List<Profile> profiles = stored.stream().map(s -> new Profile(s.gamma(), s.updates())).toList();
        List<Solution> solutions = new ArrayList<>();
        List<PostHocSolver.Sum> sums = new ArrayList<>();
        for (double sigmaRel : settings.sigmaRels()) {
            solutions.add(PostHocSolver.solve(profiles, Profile.ofSigmaRel(sigmaRel, updates)));
        }
        for (int i = 0; i < stored.size(); i++) {
            ModelState state = store.load(stored.get(i), layout);
            for (int j = 0; j < solutions.size(); j++) {
                if (sums.size() == j) {
                    sums.add(new PostHocSolver.Sum(state));
                }
                sums.get(j).add(solutions.get(j).coefficients()[i], state);
            }
        }
        List<Reconstruction> out = new ArrayList<>();
        for (int j = 0; j < solutions.size(); j++) {
            double sigmaRel = settings.sigmaRels().get(j);
            out.add(new Reconstruction(sigmaRel, PowerEma.gamma(sigmaRel), solutions.get(j), sums.get(j).result()));
        }
        return out;
    }

    /** The whole tool: reconstruct, optionally test (a SparkContext of spark-submit's), write, print. */
    public void run() throws IOException {
        NodeSetup.onDriver(new SparkConf()); // before the engine loads, as Train's driver
        StateLayout layout = TrainDriver.layoutOf(cfg);
        System.out.printf(Locale.ROOT, "post-hoc EMA of %s: %d stored power EMAs (%s) at t up to %d; reconstructing at t = %d%n",
                settings.outDir(), stored.size(), String.join(", ", stored.stream().map(PostHocStore.Stored::name).distinct().toList()),
                updates, updates);
        String memory = memoryProblem(layout.floatCount(), settings.sigmaRels().size(), Runtime.getRuntime().maxMemory());
        if (memory != null) {
            throw new ConfigException(memory);
        }
        List<Reconstruction> reconstructions = reconstruct(layout);
        double[][] errors = null;
        if (settings.eval()) {
            SparkConf conf = new SparkConf().setAppName("emaspark-posthoc-ema");
            try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
                errors = evaluate(jsc, reconstructions);
            }
        }
        System.out.printf("%-9s %8s %14s %11s %11s%n", "sigma_rel", "gamma", "profile error", "condition", settings.eval() ? "top-1 %" : "");
        for (int j = 0; j < reconstructions.size(); j++) {
            Reconstruction r = reconstructions.get(j);
            Path written = store.writeReconstruction(r.name(), r.state(), describe(r, errors == null ? null : errors[j]), cfg.toYaml());
            System.out.printf(Locale.ROOT, "%-9.3f %8.3f %14.2e %11.3g %11s  %s%n", r.sigmaRel(), r.gamma(), r.solution().profileError(),
                    r.solution().conditionNumber(), errors == null ? "" : String.format(Locale.ROOT, "%.3f", errors[j][0]), written);
        }
        warnOutsideTracked(reconstructions);
    }

    /**
     * Widths outside the tracked ones are extrapolated: the paper's reconstructions hold between and
     * near the tracked profiles, and the profile error says how far the result is from the EMA asked for.
     */
    private void warnOutsideTracked(List<Reconstruction> reconstructions) {
        double narrowest = stored.stream().mapToDouble(PostHocStore.Stored::sigmaRel).min().orElseThrow();
        double widest = stored.stream().mapToDouble(PostHocStore.Stored::sigmaRel).max().orElseThrow();
        for (Reconstruction r : reconstructions) {
            if (r.sigmaRel() < narrowest - 1e-9 || r.sigmaRel() > widest + 1e-9) {
                System.out.printf(Locale.ROOT, "sigma_rel %.3f is outside the tracked widths %.3f to %.3f: extrapolated, its profile "
                        + "error %.2e is how far its weights are from that EMA (track a width near it: EMA.POWER_SIGMA_RELS)%n",
                        r.sigmaRel(), narrowest, widest, r.solution().profileError());
            }
        }
    }

    /** Precise BN (as the job's) and the test of every reconstruction in one pass; their top-1 and top-5 errors. */
    private double[][] evaluate(JavaSparkContext jsc, List<Reconstruction> reconstructions) throws IOException {
        Path dataRoot = new Path(cfg.getString("TRAIN.DATASET"));
        Manifest manifest = TrainDriver.readManifest(dataRoot.getFileSystem(jsc.hadoopConfiguration()), dataRoot);
        Manifest.Split train = TrainDriver.split(manifest, dataRoot, cfg.getString("TRAIN.SPLIT"), "TRAIN.SPLIT");
        Manifest.Split val = TrainDriver.split(manifest, dataRoot, cfg.getString("TEST.SPLIT"), "TEST.SPLIT");
        EvalStage stage = new EvalStage(cfg, val, new Path(dataRoot, cfg.getString("TEST.SPLIT")).toString());
        List<ModelState> states = new ArrayList<>(reconstructions.stream().map(Reconstruction::state).toList());
        if (cfg.getBool("BN.USE_PRECISE_STATS")) {
            int lastEpoch = cfg.getInt("OPTIM.MAX_EPOCH") - 1;
            ShardPlan plan = TrainDriver.plan(cfg, train, lastEpoch);
            int world = cfg.getInt("NUM_GPUS");
            int iterations = PreciseBn.iterations(cfg.getInt("BN.NUM_SAMPLES_PRECISE"), cfg.getInt("TRAIN.BATCH_SIZE") / world,
                    world, plan.iterations());
            states = new ArrayList<>(stage.preciseBn(jsc, lastEpoch, plan,
                    TrainDriver.shardPaths(dataRoot, cfg.getString("TRAIN.SPLIT"), train), iterations, states));
        }
        EvalTask.Result result = stage.test(jsc, states);
        double[][] errors = new double[states.size()][];
        for (int j = 0; j < states.size(); j++) {
            errors[j] = result.errors(j);
            Reconstruction r = reconstructions.get(j);
            reconstructions.set(j, new Reconstruction(r.sigmaRel(), r.gamma(), r.solution(), states.get(j)));
        }
        return errors;
    }

    private ObjectNode describe(Reconstruction r, double[] errors) {
        ObjectNode posthoc = new ObjectMapper().createObjectNode();
        int epoch = stored.stream().filter(s -> s.updates() == updates).mapToInt(PostHocStore.Stored::epoch).max().orElseThrow();
        posthoc.put("name", r.name()).put("sigma_rel", r.sigmaRel()).put("gamma", r.gamma()).put("epoch", epoch).put("updates", updates)
                .put("stored_states", stored.size()).put("profile_error", r.solution().profileError())
                .put("condition_number", r.solution().conditionNumber());
        posthoc.put("power_emas", String.join(", ", stored.stream().map(s -> s.name()).distinct().toList()));
        if (errors != null) {
            posthoc.put("ema_err", errors[0]).put("ema_top5_err", errors[1]).put("precise_bn", cfg.getBool("BN.USE_PRECISE_STATS"));
        }
        return posthoc;
    }
}
