package ai.emaspark.config;

import java.util.List;
import java.util.Set;

/** Checks of values against each other, with pycls's rules; each failure is one line. */
final class ConfigValidator {
    private static final Set<String> LR_POLICIES = Set.of("cos", "exp", "lin", "steps");

    private ConfigValidator() {}

    static void validate(Config cfg) {
        require(!cfg.getString("TRAIN.DATASET").isBlank(),
                "TRAIN.DATASET is not set: give the dataset root, e.g. TRAIN.DATASET hdfs://namenode:8020/data/imagenet");
        require(!cfg.getString("OUT_DIR").isBlank(),
                "OUT_DIR is not set: give this run's own output directory, e.g. OUT_DIR hdfs://namenode:8020/runs/r50");
        validateModel(cfg);
        require(cfg.getString("MODEL.LOSS_FUN").equals("cross_entropy"),
                "MODEL.LOSS_FUN '" + cfg.getString("MODEL.LOSS_FUN") + "' is not supported: use cross_entropy");
        require(cfg.getInt("MODEL.NUM_CLASSES") >= 2, "MODEL.NUM_CLASSES must be at least 2");
        require(cfg.getInt("BN.NUM_SAMPLES_PRECISE") >= 1, "BN.NUM_SAMPLES_PRECISE must be at least 1");
        double smoothing = cfg.getFloat("TRAIN.LABEL_SMOOTHING");
        require(smoothing >= 0 && smoothing < 1, "TRAIN.LABEL_SMOOTHING must be in [0, 1)");
        validateOptim(cfg);
        validateBatches(cfg);
        validatePowerEmas(cfg);
        require(cfg.getInt("TRAIN.IM_SIZE") >= 8, "TRAIN.IM_SIZE must be at least 8");
        require(cfg.getInt("TEST.IM_SIZE") >= cfg.getInt("TRAIN.IM_SIZE"),
                "TEST.IM_SIZE " + cfg.getInt("TEST.IM_SIZE") + " is smaller than TRAIN.IM_SIZE " + cfg.getInt("TRAIN.IM_SIZE")
                        + ": the test transform centre-crops TRAIN.IM_SIZE from it");
        require(cfg.getInt("DATA_LOADER.NUM_WORKERS") >= 1, "DATA_LOADER.NUM_WORKERS must be at least 1");
        require(cfg.getInt("DATA_LOADER.SHUFFLE_WINDOW") >= 1, "DATA_LOADER.SHUFFLE_WINDOW must be at least 1");
        require(cfg.getInt("DATA_LOADER.MAX_PIXELS") >= 1, "DATA_LOADER.MAX_PIXELS must be at least 1");
        require(cfg.getInt("TRAIN.EVAL_PERIOD") >= 1, "TRAIN.EVAL_PERIOD must be at least 1");
        require(cfg.getInt("EMA.EVAL_PERIOD") >= 1, "EMA.EVAL_PERIOD must be at least 1");
        require(cfg.getInt("EMA.POSTHOC_PERIOD") >= 0, "EMA.POSTHOC_PERIOD must be 0 (never) or more");
        require(cfg.getInt("TRAIN.CHECKPOINT_PERIOD") >= 1, "TRAIN.CHECKPOINT_PERIOD must be at least 1");
        require(cfg.getInt("TRAIN.KEEP_CHECKPOINTS") >= 0, "TRAIN.KEEP_CHECKPOINTS must be 0 (keep all) or more");
        require(cfg.getInt("LOG_PERIOD") >= 1, "LOG_PERIOD must be at least 1");
    }

    private static final Set<String> ACTIVATIONS = Set.of("relu", "silu", "swish");
    private static final Set<String> STEMS = Set.of("res_stem_cifar", "res_stem_in", "simple_stem_in");
    private static final Set<String> BLOCKS =
        Set.of("vanilla_block", "res_basic_block", "res_bottleneck_block", "res_bottleneck_linear_block");

    private static void validateModel(Config cfg) {
        String type = cfg.getString("MODEL.TYPE");
        require(ACTIVATIONS.contains(cfg.getString("MODEL.ACTIVATION_FUN").toLowerCase(java.util.Locale.ROOT)),
            "MODEL.ACTIVATION_FUN '" + cfg.getString("MODEL.ACTIVATION_FUN") + "' is unknown: use relu or silu");
        switch (type) {
            case "resnet" -> validateResNet(cfg);
            case "anynet" -> validateAnyNet(cfg);
            case "regnet" -> validateRegNet(cfg);
            default -> throw new ConfigException("MODEL.TYPE '" + type + "' is not supported: use resnet, anynet or regnet");
        }
    }

    private static void validateResNet(Config cfg) {
        int depth = cfg.getInt("MODEL.DEPTH");
        boolean imageNet = depth == 50 || depth == 101 || depth == 152;
        require(imageNet || (depth >= 8 && (depth - 2) % 6 == 0),
            "MODEL.DEPTH " + depth + " is not a pycls ResNet: use 50, 101, 152 (ImageNet) or 6n+2 such as 20, 56, 110 (CIFAR)");
        String trans = cfg.getString("RESNET.TRANS_FUN");
        require(trans.equals("basic_transform") || (imageNet && trans.equals("bottleneck_transform")),
            "RESNET.TRANS_FUN '" + trans + "' is not supported with MODEL.DEPTH " + depth + ": use "
                + (imageNet ? "basic_transform or bottleneck_transform" : "basic_transform"));
        require(cfg.getInt("RESNET.NUM_GROUPS") >= 1 && cfg.getInt("RESNET.WIDTH_PER_GROUP") >= 1,
            "RESNET.NUM_GROUPS and RESNET.WIDTH_PER_GROUP must be at least 1");
    }

    private static void validateAnyNet(Config cfg) {
        int stages = cfg.getIntList("ANYNET.DEPTHS").size();
        require(stages > 0, "ANYNET.DEPTHS is empty: give the blocks per stage, e.g. [1, 2, 7, 12]");
        for (String key : List.of("ANYNET.WIDTHS", "ANYNET.STRIDES")) {
            require(cfg.getIntList(key).size() == stages, key + " needs one value per stage (" + stages + ")");
        }
        String block = cfg.getString("ANYNET.BLOCK_TYPE");
        boolean bottleneck = block.startsWith("res_bottleneck");
        require(!bottleneck || (cfg.getFloatList("ANYNET.BOT_MULS").size() == stages
                && cfg.getIntList("ANYNET.GROUP_WS").size() == stages),
            block + " needs ANYNET.BOT_MULS and ANYNET.GROUP_WS with one value per stage (" + stages + ")");
        validateStemAndBlock("ANYNET", cfg);
    }

    private static void validateRegNet(Config cfg) {
        require(cfg.getInt("REGNET.W0") > 0 && cfg.getInt("REGNET.W0") % 8 == 0, "REGNET.W0 must be a positive multiple of 8");
        require(cfg.getFloat("REGNET.WA") >= 0, "REGNET.WA must not be negative");
        require(cfg.getFloat("REGNET.WM") > 1, "REGNET.WM must be greater than 1");
        require(cfg.getInt("REGNET.DEPTH") >= 1, "REGNET.DEPTH must be at least 1");
        require(cfg.getInt("REGNET.GROUP_W") >= 1, "REGNET.GROUP_W must be at least 1");
        validateStemAndBlock("REGNET", cfg);
    }

    private static void validateStemAndBlock(String prefix, Config cfg) {
        String stem = cfg.getString(prefix + ".STEM_TYPE");
        require(STEMS.contains(stem), prefix + ".STEM_TYPE '" + stem + "' is unknown: use one of " + String.join(", ", new java.util.TreeSet<>(STEMS)));
        String block = cfg.getString(prefix + ".BLOCK_TYPE");
        require(BLOCKS.contains(block), prefix + ".BLOCK_TYPE '" + block + "' is unknown: use one of " + String.join(", ", new java.util.TreeSet<>(BLOCKS)));
    }

    private static void validateOptim(Config cfg) {
        String policy = cfg.getString("OPTIM.LR_POLICY");
        require(LR_POLICIES.contains(policy), "OPTIM.LR_POLICY '" + policy + "' is unknown: use one of cos, exp, lin, steps");
        require(!policy.equals("exp") || cfg.getFloat("OPTIM.MIN_LR") > 0,
                "OPTIM.LR_POLICY exp needs OPTIM.MIN_LR greater than 0");
        List<Double> steps = cfg.getFloatList("OPTIM.STEPS");
        require(!policy.equals("steps") || (!steps.isEmpty() && steps.get(0) == 0.0),
                "OPTIM.LR_POLICY steps needs OPTIM.STEPS starting at 0, e.g. [0, 30, 60, 90]");
        require(cfg.getInt("OPTIM.MAX_EPOCH") >= 1, "OPTIM.MAX_EPOCH must be at least 1");
        require(cfg.getFloat("OPTIM.BASE_LR") > 0, "OPTIM.BASE_LR must be greater than 0");
        require(cfg.getFloat("OPTIM.EMA_ALPHA") >= 0, "OPTIM.EMA_ALPHA must not be negative");
        require(cfg.getInt("OPTIM.EMA_UPDATE_PERIOD") >= 0, "OPTIM.EMA_UPDATE_PERIOD must not be negative (0 = never update)");
        require(cfg.getInt("OPTIM.WARMUP_EPOCHS") >= 0, "OPTIM.WARMUP_EPOCHS must not be negative");
        require(cfg.getFloat("OPTIM.MOMENTUM") >= 0, "OPTIM.MOMENTUM must not be negative");
        require(!cfg.getBool("OPTIM.NESTEROV") || (cfg.getFloat("OPTIM.MOMENTUM") > 0 && cfg.getFloat("OPTIM.DAMPENING") == 0),
                "OPTIM.NESTEROV needs OPTIM.MOMENTUM > 0 and OPTIM.DAMPENING 0 (as torch.optim.SGD)");
    }

    private static void validatePowerEmas(Config cfg) {
        List<Double> widths = cfg.getFloatList("EMA.POWER_SIGMA_RELS");
        Set<String> names = new java.util.HashSet<>();
        for (double width : widths) {
            // sqrt(1/12): the width of gamma 0 (ema.PowerEma.MAX_SIGMA_REL; config sits below ema)
            require(width > 0 && width <= Math.sqrt(1.0 / 12), "EMA.POWER_SIGMA_RELS " + widths + ": " + width
                    + " is not in (0, 0.2887]; use relative widths such as 0.05 or 0.10 (wider would weigh early weights most)");
            String name = String.format(java.util.Locale.ROOT, "%.3f", width);
            require(names.add(name), "EMA.POWER_SIGMA_RELS " + widths + " gives " + name + " twice (widths are named to 3 decimals)");
        }
    }

    private static void validateBatches(Config cfg) {
        int gpus = cfg.getInt("NUM_GPUS");
        require(gpus >= 1, "NUM_GPUS must be at least 1");
        int trainBatch = cfg.getInt("TRAIN.BATCH_SIZE");
        require(trainBatch >= gpus && trainBatch % gpus == 0,
                "TRAIN.BATCH_SIZE " + trainBatch + " is not a multiple of NUM_GPUS " + gpus + " (it is the total over all replicas)");
        int testBatch = cfg.getInt("TEST.BATCH_SIZE");
        require(testBatch >= gpus && testBatch % gpus == 0,
                "TEST.BATCH_SIZE " + testBatch + " is not a multiple of NUM_GPUS " + gpus + " (it is the total over all tasks)");
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new ConfigException(message);
        }
    }
}
