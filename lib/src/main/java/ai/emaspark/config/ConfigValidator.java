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
        require(!cfg.getString("OUT_DIR").isBlank(), "OUT_DIR is empty: give an output directory, e.g. OUT_DIR hdfs://namenode:8020/runs/r50");
        require(cfg.getString("MODEL.TYPE").equals("resnet"),
                "MODEL.TYPE '" + cfg.getString("MODEL.TYPE") + "' is not supported yet: use resnet");
        int depth = cfg.getInt("MODEL.DEPTH");
        require(depth >= 8 && (depth - 2) % 6 == 0,
                "MODEL.DEPTH " + depth + " is not supported: use 6n+2 (20, 32, 56, 110)");
        require(cfg.getString("RESNET.TRANS_FUN").equals("basic_transform"),
                "RESNET.TRANS_FUN '" + cfg.getString("RESNET.TRANS_FUN") + "' is not supported by depth " + depth
                        + ": use basic_transform");
        require(cfg.getString("MODEL.LOSS_FUN").equals("cross_entropy"),
                "MODEL.LOSS_FUN '" + cfg.getString("MODEL.LOSS_FUN") + "' is not supported: use cross_entropy");
        require(cfg.getInt("MODEL.NUM_CLASSES") >= 2, "MODEL.NUM_CLASSES must be at least 2");
        validateOptim(cfg);
        validateBatches(cfg);
        require(cfg.getInt("TRAIN.IM_SIZE") >= 8, "TRAIN.IM_SIZE must be at least 8");
        require(cfg.getInt("TEST.IM_SIZE") >= cfg.getInt("TRAIN.IM_SIZE"),
                "TEST.IM_SIZE " + cfg.getInt("TEST.IM_SIZE") + " is smaller than TRAIN.IM_SIZE " + cfg.getInt("TRAIN.IM_SIZE")
                        + ": the test transform centre-crops TRAIN.IM_SIZE from it");
        require(cfg.getInt("DATA_LOADER.NUM_WORKERS") >= 1, "DATA_LOADER.NUM_WORKERS must be at least 1");
        require(cfg.getInt("DATA_LOADER.SHUFFLE_WINDOW") >= 1, "DATA_LOADER.SHUFFLE_WINDOW must be at least 1");
        require(cfg.getInt("TRAIN.EVAL_PERIOD") >= 1, "TRAIN.EVAL_PERIOD must be at least 1");
        require(cfg.getInt("TRAIN.CHECKPOINT_PERIOD") >= 1, "TRAIN.CHECKPOINT_PERIOD must be at least 1");
        require(cfg.getInt("LOG_PERIOD") >= 1, "LOG_PERIOD must be at least 1");
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
