package ai.emaspark.config;

import ai.emaspark.config.ConfigKey.Type;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The keys this job understands. Names and defaults are pycls's ({@code pycls/core/config.py})
 * where pycls has the key; the few keys of our own say so in their help text.
 */
public final class ConfigSchema {
    private static final Map<String, ConfigKey> KEYS = new LinkedHashMap<>();

    static {
        key("MODEL.TYPE", Type.STRING, "resnet", "model family: resnet, anynet or regnet");
        key("MODEL.DEPTH", Type.INT, 20, "ResNet depth: 50, 101, 152 (ImageNet layout) or 6n+2 such as 20, 56, 110 (CIFAR layout)");
        key("MODEL.NUM_CLASSES", Type.INT, 10, "number of classes; must equal the classes found in the dataset");
        key("MODEL.LOSS_FUN", Type.STRING, "cross_entropy", "loss function");
        key("MODEL.ACTIVATION_FUN", Type.STRING, "relu", "activation: relu or silu (swish)");
        key("MODEL.ACTIVATION_INPLACE", Type.BOOL, true, "PyTorch memory option; no effect here");

        key("RESNET.TRANS_FUN", Type.STRING, "basic_transform", "block transformation: basic_transform or bottleneck_transform");
        key("RESNET.NUM_GROUPS", Type.INT, 1, "groups of the 3x3 conv (bottleneck only)");
        key("RESNET.WIDTH_PER_GROUP", Type.INT, 64, "width of each group (bottleneck only)");
        key("RESNET.STRIDE_1X1", Type.BOOL, true, "stride on the 1x1 conv (bottleneck only)");

        key("ANYNET.STEM_TYPE", Type.STRING, "simple_stem_in", "res_stem_cifar, res_stem_in or simple_stem_in");
        key("ANYNET.STEM_W", Type.INT, 32, "stem width");
        key("ANYNET.BLOCK_TYPE", Type.STRING, "res_bottleneck_block",
            "vanilla_block, res_basic_block, res_bottleneck_block or res_bottleneck_linear_block");
        key("ANYNET.DEPTHS", Type.INT_LIST, List.of(), "blocks per stage");
        key("ANYNET.WIDTHS", Type.INT_LIST, List.of(), "output width per stage");
        key("ANYNET.STRIDES", Type.INT_LIST, List.of(), "stride per stage");
        key("ANYNET.BOT_MULS", Type.FLOAT_LIST, List.of(), "bottleneck multiplier per stage (bottleneck blocks)");
        key("ANYNET.GROUP_WS", Type.INT_LIST, List.of(), "group width per stage (bottleneck blocks)");
        key("ANYNET.HEAD_W", Type.INT, 0, "width of the head's 1x1 conv; 0 = none");
        key("ANYNET.SE_ON", Type.BOOL, false, "Squeeze-and-Excitation in bottleneck blocks");
        key("ANYNET.SE_R", Type.FLOAT, 0.25, "SE ratio");

        key("REGNET.STEM_TYPE", Type.STRING, "simple_stem_in", "stem type, as ANYNET.STEM_TYPE");
        key("REGNET.STEM_W", Type.INT, 32, "stem width");
        key("REGNET.BLOCK_TYPE", Type.STRING, "res_bottleneck_block", "block type, as ANYNET.BLOCK_TYPE");
        key("REGNET.STRIDE", Type.INT, 2, "stride of every stage");
        key("REGNET.SE_ON", Type.BOOL, false, "Squeeze-and-Excitation (RegNetY)");
        key("REGNET.SE_R", Type.FLOAT, 0.25, "SE ratio");
        key("REGNET.DEPTH", Type.INT, 10, "total blocks");
        key("REGNET.W0", Type.INT, 32, "initial width (a multiple of 8)");
        key("REGNET.WA", Type.FLOAT, 5.0, "slope of the widths");
        key("REGNET.WM", Type.FLOAT, 2.5, "quantisation ratio of the widths");
        key("REGNET.GROUP_W", Type.INT, 16, "group width");
        key("REGNET.BOT_MUL", Type.FLOAT, 1.0, "bottleneck multiplier");
        key("REGNET.HEAD_W", Type.INT, 0, "width of the head's 1x1 conv; 0 = none");

        key("BN.EPS", Type.FLOAT, 1e-5, "BatchNorm epsilon");
        key("BN.MOM", Type.FLOAT, 0.1, "BatchNorm momentum (PyTorch meaning)");
        key("BN.ZERO_INIT_FINAL_GAMMA", Type.BOOL, false, "zero-init the last BN gamma of each block");
        key("BN.USE_PRECISE_STATS", Type.BOOL, true, "recompute BN statistics of model and EMA before each evaluation");
        key("BN.NUM_SAMPLES_PRECISE", Type.INT, 8192, "training images (over all replicas) for precise BN statistics");
        key("BN.USE_CUSTOM_WEIGHT_DECAY", Type.BOOL, false, "give parameters named *bn* BN.CUSTOM_WEIGHT_DECAY");
        key("BN.CUSTOM_WEIGHT_DECAY", Type.FLOAT, 0.0, "weight decay of BN parameters when BN.USE_CUSTOM_WEIGHT_DECAY");

        key("OPTIM.BASE_LR", Type.FLOAT, 0.1, "learning rate at epoch 0 (after warmup)");
        key("OPTIM.MIN_LR", Type.FLOAT, 0.0, "final learning rate, as a fraction of BASE_LR");
        key("OPTIM.LR_POLICY", Type.STRING, "cos", "cos, exp, lin or steps");
        key("OPTIM.STEPS", Type.FLOAT_LIST, List.of(), "epochs at which 'steps' multiplies the lr by LR_MULT");
        key("OPTIM.LR_MULT", Type.FLOAT, 0.1, "lr multiplier of the 'steps' policy");
        key("OPTIM.MAX_EPOCH", Type.INT, 200, "epochs of the run");
        key("OPTIM.MOMENTUM", Type.FLOAT, 0.9, "SGD momentum");
        key("OPTIM.DAMPENING", Type.FLOAT, 0.0, "SGD dampening");
        key("OPTIM.NESTEROV", Type.BOOL, true, "Nesterov momentum");
        key("OPTIM.WEIGHT_DECAY", Type.FLOAT, 5e-4, "L2 weight decay");
        key("OPTIM.WARMUP_FACTOR", Type.FLOAT, 0.1, "lr factor at the start of the linear warmup");
        key("OPTIM.WARMUP_EPOCHS", Type.INT, 0, "warmup epochs (the EMA is a plain copy during them)");
        key("OPTIM.EMA_ALPHA", Type.FLOAT, 1e-5, "base EMA update weight, before the batch/epoch/period adjustment");
        key("OPTIM.EMA_UPDATE_PERIOD", Type.INT, 32, "update the EMA every this many iterations; 0 = never");

        key("EMA.POWER_SIGMA_RELS", Type.FLOAT_LIST, List.of(),
            "ours: power-function EMAs kept beside pycls's (Karras et al. 2024), one per relative width sigma_rel in (0, 0.2887], "
                + "e.g. [0.05, 0.10]; fed the same snapshots, each checkpointed as ema_p<sigma_rel>.safetensors");
        key("EMA.POSTHOC_PERIOD", Type.INT, 0,
            "ours: store the power EMAs in OUT_DIR/posthoc/ every this many epochs (and after the last), for post-hoc "
                + "reconstruction of any sigma_rel (ai.emaspark.jobs.PostHocEma); 0 = never");
        key("EMA.EVAL_PERIOD", Type.INT, 1,
            "ours: test the power EMAs (with precise BN) after every epoch that is a multiple of this and of TRAIN.EVAL_PERIOD, and after the last");

        key("TRAIN.DATASET", Type.STRING, "", "prepared dataset (manifest.json + Parquet shards), any Hadoop URI; ours: pycls names a dataset");
        key("TRAIN.SPLIT", Type.STRING, "train", "training split of the prepared dataset");
        key("TRAIN.BATCH_SIZE", Type.INT, 128, "TOTAL mini-batch over all replicas");
        key("TRAIN.IM_SIZE", Type.INT, 224, "training crop size");
        key("TRAIN.LABEL_SMOOTHING", Type.FLOAT, 0.0, "label smoothing of the soft cross-entropy targets");
        key("TRAIN.PCA_STD", Type.FLOAT, 0.1, "standard deviation of the AlexNet-style PCA lighting noise");
        key("TRAIN.EVAL_PERIOD", Type.INT, 1, "evaluate every this many epochs (and after the last)");
        key("TRAIN.CHECKPOINT_PERIOD", Type.INT, 1, "checkpoint every this many epochs (and after the last)");
        key("TRAIN.AUTO_RESUME", Type.BOOL, true, "resume from the last committed checkpoint in OUT_DIR");
        key("TRAIN.KEEP_CHECKPOINTS", Type.INT, 0,
            "ours: keep the newest N checkpoints (and best/, and the newest that verifies); 0 keeps all, as pycls");

        key("TEST.SPLIT", Type.STRING, "val", "evaluation split of the prepared dataset");
        key("TEST.BATCH_SIZE", Type.INT, 200, "TOTAL evaluation mini-batch over all tasks");
        key("TEST.IM_SIZE", Type.INT, 256, "evaluation resize of the short side (then centre crop TRAIN.IM_SIZE)");

        key("DATA_LOADER.NUM_WORKERS", Type.INT, 8, "decode threads per task");
        key("DATA_LOADER.SHUFFLE_WINDOW", Type.INT, 1024, "ours: rows of a shard read together and shuffled (memory per task)");
        key("DATA_LOADER.MAX_PIXELS", Type.INT, 89_478_485,
            "ours: images of more pixels are skipped undecoded (decompression bombs); Pillow's default limit");

        key("NUM_GPUS", Type.INT, 1, "replicas: one barrier task each (one per GPU on a GPU cluster)");
        key("RNG_SEED", Type.INT, 1, "seed of every random choice (init, order, augmentation)");
        key("OUT_DIR", Type.STRING, "", "output directory of this run, any Hadoop URI (hdfs://...); required");
        key("LOG_PERIOD", Type.INT, 10, "log training stats every this many iterations");
    }

    private ConfigSchema() {}

    private static void key(String name, Type type, Object defaultValue, String help) {
        KEYS.put(name, new ConfigKey(name, type, defaultValue, help));
    }

    public static ConfigKey get(String name) {
        return KEYS.get(name);
    }

    public static Collection<ConfigKey> keys() {
        return KEYS.values();
    }

    /** The known key closest to {@code name} (edit distance), for "did you mean" messages. */
    public static String nearest(String name) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : KEYS.keySet()) {
            int distance = editDistance(name.toUpperCase(java.util.Locale.ROOT), candidate);
            if (distance < bestDistance) {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
