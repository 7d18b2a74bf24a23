package ai.emaspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.emaspark.checkpoint.SafetensorsCodec;
import ai.emaspark.config.Config;
import ai.emaspark.data.Batch;
import ai.emaspark.train.LrPolicy;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our models, SGD recipe and LR policies against pycls's own PyTorch code (pycls 0.1.1 from PyPI, in
 * the venv of jobs/bin/bench-venv): the same initial weights (ours, exported as safetensors, loaded
 * with load_state_dict(strict=True)) and the same inputs give the same logits; parameter counts,
 * FLOPs and activations equal pycls's complexity(); five SGD steps give the same losses.
 */
class PyclsParityTest {
    private static final double LOGITS_TOLERANCE = 1e-4;
    private static final double LOSS_TOLERANCE = 1e-3;

    @TempDir
    Path tmp;

    /** pycls's R-50-1x64d (configs/dds_baselines/resnet). */
    private static Map<String, Object> resnet50() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("MODEL.TYPE", "resnet");
        m.put("MODEL.DEPTH", 50);
        m.put("RESNET.TRANS_FUN", "bottleneck_transform");
        m.put("RESNET.NUM_GROUPS", 1);
        m.put("RESNET.WIDTH_PER_GROUP", 64);
        m.put("RESNET.STRIDE_1X1", false);
        return m;
    }

    /** pycls's RegNetX-1.6GF / RegNetY-1.6GF (configs/dds_baselines/regnet{x,y}). */
    private static Map<String, Object> regnet(int depth, int w0, double wa, double wm, int groupW, boolean se) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("MODEL.TYPE", "regnet");
        m.put("REGNET.DEPTH", depth);
        m.put("REGNET.W0", w0);
        m.put("REGNET.WA", wa);
        m.put("REGNET.WM", wm);
        m.put("REGNET.GROUP_W", groupW);
        m.put("REGNET.SE_ON", se);
        return m;
    }

    private static Map<String, Object> with(Map<String, Object> base, Object... pairs) {
        Map<String, Object> m = new LinkedHashMap<>(base);
        for (int i = 0; i < pairs.length; i += 2) {
            m.put((String) pairs[i], pairs[i + 1]);
        }
        return m;
    }

    @Test
    void resNet50MatchesPycls() throws Exception {
        JsonNode result = forward(with(resnet50(), "MODEL.NUM_CLASSES", 1000, "TRAIN.IM_SIZE", 224), "imagenet");
        assertEquals(25_557_032L, result.get("params").asLong(), "ResNet-50 parameters, as pycls's model zoo");
    }

    @Test
    void regNetX16GfMatchesPycls() throws Exception {
        JsonNode result = forward(with(regnet(18, 80, 34.01, 2.25, 24, false), "MODEL.NUM_CLASSES", 1000,
            "TRAIN.IM_SIZE", 224), "imagenet");
        assertEquals(9_190_136L, result.get("params").asLong(), "RegNetX-1.6GF parameters");
    }

    @Test
    void regNetY16GfMatchesPycls() throws Exception {
        JsonNode result = forward(with(regnet(27, 48, 20.71, 2.65, 24, true), "MODEL.NUM_CLASSES", 1000,
            "TRAIN.IM_SIZE", 224), "imagenet");
        assertEquals(11_202_430L, result.get("params").asLong(), "RegNetY-1.6GF parameters");
    }

    @Test
    void smallerVariantsMatchPycls() throws Exception {
        forward(with(Map.of(), "MODEL.TYPE", "resnet", "MODEL.DEPTH", 20, "MODEL.NUM_CLASSES", 10, "TRAIN.IM_SIZE", 32),
            "cifar10");
        forward(with(resnet50(), "RESNET.NUM_GROUPS", 4, "RESNET.WIDTH_PER_GROUP", 8, "RESNET.STRIDE_1X1", true,
            "MODEL.NUM_CLASSES", 7, "TRAIN.IM_SIZE", 64), "imagenet");
        forward(with(Map.of(), "MODEL.TYPE", "anynet", "ANYNET.STEM_TYPE", "res_stem_cifar", "ANYNET.STEM_W", 16,
            "ANYNET.BLOCK_TYPE", "vanilla_block", "ANYNET.DEPTHS", List.of(1, 2), "ANYNET.WIDTHS", List.of(16, 24),
            "ANYNET.STRIDES", List.of(1, 2), "MODEL.NUM_CLASSES", 5, "TRAIN.IM_SIZE", 24), "imagenet");
        forward(with(Map.of(), "MODEL.TYPE", "anynet", "ANYNET.STEM_TYPE", "res_stem_in", "ANYNET.STEM_W", 16,
            "ANYNET.BLOCK_TYPE", "res_basic_block", "ANYNET.DEPTHS", List.of(2, 1), "ANYNET.WIDTHS", List.of(16, 32),
            "ANYNET.STRIDES", List.of(1, 2), "MODEL.NUM_CLASSES", 5, "TRAIN.IM_SIZE", 40), "imagenet");
    }

    /** Newer than pycls 0.1.1 (SiLU, head width, the linear bottleneck block): against pycls's newest code, restated. */
    @Test
    void newestAnyNetPartsMatchPycls() throws Exception {
        Map<String, Object> base = with(Map.of(), "MODEL.TYPE", "anynet", "MODEL.ACTIVATION_FUN", "silu",
            "ANYNET.STEM_TYPE", "simple_stem_in", "ANYNET.STEM_W", 16, "ANYNET.DEPTHS", List.of(2, 2),
            "ANYNET.WIDTHS", List.of(16, 32), "ANYNET.STRIDES", List.of(1, 2), "ANYNET.BOT_MULS", List.of(4.0, 4.0),
            "ANYNET.GROUP_WS", List.of(16, 16), "ANYNET.HEAD_W", 64, "ANYNET.SE_ON", true, "MODEL.NUM_CLASSES", 5,
            "TRAIN.IM_SIZE", 32);
        forward(with(base, "ANYNET.BLOCK_TYPE", "res_bottleneck_linear_block"), "imagenet");
        forward(with(base, "ANYNET.BLOCK_TYPE", "res_bottleneck_block", "ANYNET.BOT_MULS", List.of(1.0, 0.5)), "imagenet");
    }

    @Test
    void fiveSgdStepsGiveTheSameLosses() throws Exception {
        // pycls's recipe zero-inits each block's final BN gamma: training then starts well conditioned.
        // (With gamma 1, PyTorch's own float32 losses at 1 and 2 threads part by 1 % within 3 steps.)
        // RegNetY-200MF shape at 64 px: SE, groups; Nesterov, label smoothing, BN without weight decay.
        Map<String, Object> model = with(regnet(13, 24, 36.44, 2.49, 8, true), "MODEL.NUM_CLASSES", 10,
            "TRAIN.IM_SIZE", 64, "BN.ZERO_INIT_FINAL_GAMMA", true, "BN.USE_CUSTOM_WEIGHT_DECAY", true,
            "BN.CUSTOM_WEIGHT_DECAY", 0.0, "OPTIM.WEIGHT_DECAY", 5e-4, "OPTIM.MOMENTUM", 0.9, "OPTIM.NESTEROV", true);
        double[] lrs = {0.01, 0.02, 0.02, 0.015, 0.01};
        train(model, "imagenet", lrs, 0.1, 8);
        train(with(resnet50(), "MODEL.NUM_CLASSES", 10, "TRAIN.IM_SIZE", 64, "BN.ZERO_INIT_FINAL_GAMMA", true,
            "OPTIM.NESTEROV", false, "OPTIM.WEIGHT_DECAY", 1e-4), "imagenet", lrs, 0.0, 4);
    }

    @Test
    void preciseBnStatisticsMatchPycls() throws Exception {
        Map<String, Object> keys = with(regnet(13, 24, 36.44, 2.49, 8, true), "MODEL.NUM_CLASSES", 10, "TRAIN.IM_SIZE", 64);
        Config cfg = config(keys);
        ModelSpec spec = ModelSpec.of(cfg);
        Path dir = Files.createTempDirectory(tmp, "bn");
        SplittableRandom random = new SplittableRandom(13);
        Map<String, Batch> inputs = new LinkedHashMap<>();
        List<Batch> batches = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            Batch batch = randomBatch(random, 6, spec.imageSize(), spec.numClasses());
            batches.add(batch);
            inputs.put("bn_x_" + k, batch);
        }
        ModelState state;
        float[] ours;
        try (Replica replica = new Replica(spec.withBnMomentum(1.0), SgdSettings.of(cfg), Device.cpu())) {
            state = perturbedBn(PyclsInit.initialize(replica.tensors().layout(), 2, false), 4);
            writeWeights(dir, state);
            ours = ai.emaspark.train.PreciseBn.statistics(replica, state, batches);
        }
        writeInputs(dir, inputs);
        writeCase(dir, keys, "imagenet", null, 0);
        JsonNode theirs = PyTorchPeer.run(dir).get("bn_stats");
        ModelState precise = ai.emaspark.train.PreciseBn.apply(state, ours);
        StateLayout layout = precise.layout();
        int checked = 0;
        for (int i = 0; i < layout.tensors().size(); i++) {
            TensorSpec t = layout.tensor(i);
            if (t.role() != TensorSpec.Role.BN_RUNNING_MEAN && t.role() != TensorSpec.Role.BN_RUNNING_VAR) {
                continue;
            }
            float[] values = java.util.Arrays.copyOfRange(precise.floats(), layout.offset(i), layout.offset(i) + t.size());
            assertClose(theirs.get(t.name()), values, LOGITS_TOLERANCE, t.name());
            checked++;
        }
        assertEquals(theirs.size(), checked, "every BN layer's mean and variance");
    }

    @Test
    void everyEpochLrOfEveryPolicyMatchesPycls() throws Exception {
        List<Map<String, Object>> cases = List.of(
            Map.of("OPTIM.LR_POLICY", "cos", "OPTIM.BASE_LR", 0.8, "OPTIM.MAX_EPOCH", 100, "OPTIM.WARMUP_EPOCHS", 5,
                "OPTIM.WARMUP_FACTOR", 0.1, "OPTIM.MIN_LR", 0.0),
            Map.of("OPTIM.LR_POLICY", "cos", "OPTIM.BASE_LR", 0.4, "OPTIM.MAX_EPOCH", 97, "OPTIM.MIN_LR", 0.005),
            Map.of("OPTIM.LR_POLICY", "exp", "OPTIM.BASE_LR", 0.1, "OPTIM.MAX_EPOCH", 50, "OPTIM.MIN_LR", 0.01,
                "OPTIM.WARMUP_EPOCHS", 3),
            Map.of("OPTIM.LR_POLICY", "lin", "OPTIM.BASE_LR", 0.2, "OPTIM.MAX_EPOCH", 30, "OPTIM.MIN_LR", 0.1),
            Map.of("OPTIM.LR_POLICY", "steps", "OPTIM.BASE_LR", 0.1, "OPTIM.MAX_EPOCH", 100,
                "OPTIM.STEPS", List.of(0.0, 30.0, 60.0, 90.0), "OPTIM.LR_MULT", 0.1, "OPTIM.WARMUP_EPOCHS", 2));
        ObjectMapper json = new ObjectMapper();
        ObjectNode caseJson = json.createObjectNode();
        ArrayNode lrCases = caseJson.putArray("lr_cases");
        List<Config> configs = new ArrayList<>();
        for (Map<String, Object> c : cases) {
            Config cfg = config(c);
            configs.add(cfg);
            ObjectNode o = lrCases.addObject();
            for (String key : List.of("LR_POLICY", "BASE_LR", "MIN_LR", "MAX_EPOCH", "WARMUP_EPOCHS",
                "WARMUP_FACTOR", "LR_MULT")) {
                o.putPOJO(key, cfgValue(cfg, "OPTIM." + key));
            }
            ArrayNode steps = o.putArray("STEPS");
            cfg.getFloatList("OPTIM.STEPS").forEach(steps::add);
        }
        Files.writeString(tmp.resolve("case.json"), json.writeValueAsString(caseJson));
        JsonNode result = PyTorchPeer.run(tmp);
        for (int i = 0; i < configs.size(); i++) {
            Config cfg = configs.get(i);
            JsonNode theirs = result.get("lrs").get(i);
            assertEquals(cfg.getInt("OPTIM.MAX_EPOCH"), theirs.size());
            for (int epoch = 0; epoch < theirs.size(); epoch++) {
                assertEquals(theirs.get(epoch).asDouble(), LrPolicy.epochLr(cfg, epoch), 0.0,
                    cases.get(i) + " epoch " + epoch);
            }
        }
    }

    private static Object cfgValue(Config cfg, String key) {
        return switch (key) {
            case "OPTIM.LR_POLICY" -> cfg.getString(key);
            case "OPTIM.MAX_EPOCH", "OPTIM.WARMUP_EPOCHS" -> cfg.getInt(key);
            default -> cfg.getFloat(key);
        };
    }

    private static Config config(Map<String, Object> keys) {
        Config cfg = Config.defaults();
        for (Map.Entry<String, Object> e : keys.entrySet()) {
            cfg = cfg.with(e.getKey(), e.getValue());
        }
        return cfg;
    }

    /** KEY VALUE pairs for yacs's merge_from_list: values as Python literals. */
    private static List<String> pyclsCfg(Map<String, Object> keys, String dataset) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Object> e : keys.entrySet()) {
            // TRAIN.LABEL_SMOOTHING is newer than pycls 0.1.1: the script applies it itself.
            if (e.getKey().equals("TRAIN.LABEL_SMOOTHING")) {
                continue;
            }
            out.add(e.getKey());
            out.add(pythonLiteral(e.getValue()));
        }
        out.addAll(List.of("TRAIN.DATASET", dataset, "TEST.DATASET", dataset));
        return out;
    }

    private static String pythonLiteral(Object value) {
        if (value instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (value instanceof List<?> list) {
            List<String> items = new ArrayList<>();
            list.forEach(v -> items.add(pythonLiteral(v)));
            return "[" + String.join(", ", items) + "]";
        }
        return String.valueOf(value);
    }

    /** Eval-mode logits of both sides on the same weights and images; complexity equal to pycls's. */
    private JsonNode forward(Map<String, Object> keys, String dataset) throws Exception {
        Config cfg = config(keys);
        ModelSpec spec = ModelSpec.of(cfg);
        Path dir = Files.createTempDirectory(tmp, "case");
        int size = spec.imageSize();
        Batch images = randomBatch(new SplittableRandom(7), 2, size, spec.numClasses());
        float[] ours;
        try (Replica replica = new Replica(spec, SgdSettings.of(cfg), Device.cpu())) {
            ModelState state = perturbedBn(PyclsInit.initialize(replica.tensors().layout(), 1, false), 3);
            replica.load(state);
            writeWeights(dir, state);
            ours = replica.logits(images);
            writeInputs(dir, Map.of("eval_x", images));
            writeCase(dir, keys, dataset, null, 0);
            JsonNode result = PyTorchPeer.run(dir);
            assertClose(result.get("logits"), ours, LOGITS_TOLERANCE, keys.toString());
            Complexity cx = Models.complexity(spec);
            System.out.println("parity " + keys + ": " + cx + ", logits max rel diff within " + LOGITS_TOLERANCE);
            assertEquals(result.get("params").asLong(), replica.tensors().layout().parameterCount(), "trainable tensors");
            assertEquals(result.get("params").asLong(), cx.params(), "complexity params");
            if (result.has("flops")) { // pycls's own code; the restated newest AnyNet reports params only
                assertEquals(result.get("flops").asLong(), cx.flops(), "complexity flops");
                assertEquals(result.get("acts").asLong(), cx.acts(), "complexity acts");
            }
            return result;
        }
    }

    /** Five SGD steps with the given lrs on both sides, then one more forward: every loss within 1e-3. */
    private void train(Map<String, Object> keys, String dataset, double[] lrs, double labelSmoothing, int batchSize)
        throws Exception {
        Config cfg = config(with(keys, "TRAIN.LABEL_SMOOTHING", labelSmoothing));
        ModelSpec spec = ModelSpec.of(cfg);
        Path dir = Files.createTempDirectory(tmp, "train");
        SplittableRandom random = new SplittableRandom(11);
        Map<String, Batch> inputs = new LinkedHashMap<>();
        List<Batch> batches = new ArrayList<>();
        // Two batches in turn: learnable, so the losses fall instead of drifting apart chaotically.
        Batch[] pair = {randomBatch(random, batchSize, spec.imageSize(), spec.numClasses()),
            randomBatch(random, batchSize, spec.imageSize(), spec.numClasses())};
        for (int k = 0; k <= lrs.length; k++) {
            batches.add(pair[k % 2]);
            inputs.put("train_x_" + k, pair[k % 2]);
        }
        double[] ours = new double[lrs.length + 1];
        try (Replica replica = new Replica(spec, SgdSettings.of(cfg), labelSmoothing, Device.cpu())) {
            ModelState state = PyclsInit.initialize(replica.tensors().layout(), 5, spec.zeroInitFinalGamma());
            replica.load(state);
            writeWeights(dir, state);
            float[] grads = new float[replica.tensors().layout().gradientCount()];
            for (int k = 0; k <= lrs.length; k++) {
                ours[k] = replica.forwardBackward(batches.get(k)).loss();
                if (k < lrs.length) {
                    replica.readGradients(grads);
                    replica.step(grads, lrs[k]);
                }
            }
        }
        writeInputs(dir, inputs);
        writeCase(dir, with(keys, "TRAIN.LABEL_SMOOTHING", labelSmoothing), dataset, lrs, labelSmoothing);
        JsonNode losses = PyTorchPeer.run(dir).get("losses");
        System.out.println("parity losses (5 SGD steps + 1): ours " + java.util.Arrays.toString(ours) + ", PyTorch " + losses);
        assertEquals(ours.length, losses.size());
        for (int k = 0; k < ours.length; k++) {
            double theirs = losses.get(k).asDouble();
            assertTrue(Math.abs(ours[k] - theirs) <= LOSS_TOLERANCE * Math.abs(theirs),
                "step " + k + ": ours " + ours[k] + ", PyTorch " + theirs + " (" + keys + ")");
        }
        assertTrue(ours[lrs.length] < ours[0], "training lowers the loss: " + java.util.Arrays.toString(ours));
    }

    private static Batch randomBatch(SplittableRandom random, int n, int size, int classes) {
        Batch batch = Batch.allocate(n, size);
        for (int i = 0; i < batch.images().length; i++) {
            batch.images()[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < n; i++) {
            batch.labels()[i] = random.nextInt(classes);
            // a learnable signal in channel 0
            int plane = size * size;
            for (int p = 0; p < plane; p++) {
                batch.images()[i * 3 * plane + p] += batch.labels()[i] * 0.5f;
            }
        }
        return batch.withCount(n);
    }

    /** BN statistics and affine parameters away from their init values, so eval-mode BN is exercised. */
    private static ModelState perturbedBn(ModelState state, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        StateLayout layout = state.layout();
        for (int i = 0; i < layout.tensors().size(); i++) {
            TensorSpec spec = layout.tensor(i);
            int offset = layout.offset(i);
            for (int j = 0; j < spec.size() && !spec.integer(); j++) {
                float[] f = state.floats();
                switch (spec.role()) {
                    case BN_RUNNING_MEAN, BN_BIAS -> f[offset + j] = (float) random.nextDouble(-0.2, 0.2);
                    case BN_RUNNING_VAR, BN_WEIGHT, BN_FINAL_WEIGHT -> f[offset + j] = (float) random.nextDouble(0.5, 1.5);
                    default -> { }
                }
            }
        }
        return state;
    }

    private static void writeWeights(Path dir, ModelState state) throws IOException {
        try (OutputStream out = Files.newOutputStream(dir.resolve("weights.safetensors"))) {
            SafetensorsCodec.writeState(out, state);
        }
    }

    /** Each batch as NAME (images, N x 3 x S x S) and NAME with x -> y (labels, int64). */
    private static void writeInputs(Path dir, Map<String, Batch> batches) throws IOException {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
             OutputStream out = Files.newOutputStream(dir.resolve("inputs.safetensors"))) {
            NDList list = new NDList();
            for (Map.Entry<String, Batch> e : batches.entrySet()) {
                Batch b = e.getValue();
                NDArray x = manager.create(b.images(), new Shape(b.count(), 3, b.size(), b.size()));
                x.setName(e.getKey());
                list.add(x);
                long[] labels = new long[b.count()];
                for (int i = 0; i < labels.length; i++) {
                    labels[i] = b.labels()[i];
                }
                NDArray y = manager.create(labels);
                y.setName(e.getKey().replace("_x", "_y"));
                list.add(y);
            }
            list.encode(out, NDList.Encoding.SAFETENSORS);
        }
    }

    private static void writeCase(Path dir, Map<String, Object> keys, String dataset, double[] lrs,
                                  double labelSmoothing) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        ArrayNode cfg = c.putArray("cfg");
        pyclsCfg(keys, dataset).forEach(cfg::add);
        c.put("label_smoothing", labelSmoothing);
        if (lrs != null) {
            ArrayNode steps = c.putArray("train_lrs");
            for (double lr : lrs) {
                steps.add(lr);
            }
        }
        Files.writeString(dir.resolve("case.json"), json.writeValueAsString(c));
    }

    private static void assertClose(JsonNode theirs, float[] ours, double tolerance, String what) {
        assertEquals(theirs.size(), ours.length, what + ": logits count");
        double maxAbs = 0;
        double maxDiff = 0;
        for (int i = 0; i < ours.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(theirs.get(i).asDouble()));
            maxDiff = Math.max(maxDiff, Math.abs(theirs.get(i).asDouble() - ours[i]));
        }
        assertTrue(maxDiff <= tolerance * maxAbs, what + ": max |ours - PyTorch| " + maxDiff + " vs max |logit| " + maxAbs);
    }
}
