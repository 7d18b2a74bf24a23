package ai.emaspark.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Which settings of two configs would make a run come out differently: everything but where it
 * writes, how often it logs, evaluates (unless it keeps power EMAs) or checkpoints, how many decode
 * threads it uses and how many checkpoints it keeps. A run may resume only with the settings it started with, except NUM_GPUS: as
 * pycls, it may resume on another number of replicas (TRAIN.BATCH_SIZE, the global batch, must still
 * divide by it, which the validator checks), with the same lr schedule and data order.
 */
public final class ConfigDiff {
    /** Keys that change neither the weights nor the EMA nor the data a run sees. */
    static final Set<String> NO_EFFECT_ON_RESULTS = Set.of("OUT_DIR", "LOG_PERIOD", "DATA_LOADER.NUM_WORKERS",
            "TRAIN.AUTO_RESUME", "TRAIN.KEEP_CHECKPOINTS", "TRAIN.CHECKPOINT_PERIOD", "TEST.BATCH_SIZE",
            "MODEL.ACTIVATION_INPLACE", "EMA.POSTHOC_PERIOD");
    /**
     * Keys that change no result of a run without power EMAs; with them, they say in which epochs the
     * power EMAs are tested and so get precise BN statistics, which then go on into their averages.
     */
    static final Set<String> NO_EFFECT_WITHOUT_POWER_EMAS = Set.of("TRAIN.EVAL_PERIOD", "EMA.EVAL_PERIOD");
    /** Changes the bits (batch statistics are per replica) but not the schedule: allowed on resume. */
    public static final String REPLICAS = "NUM_GPUS";

    private ConfigDiff() {}

    /** "KEY stored → now" for every setting that differs and matters, in schema order. */
    public static List<String> resultChanging(Config stored, Config now) {
        List<String> differences = new ArrayList<>();
        boolean powerEmas = !stored.getFloatList("EMA.POWER_SIGMA_RELS").isEmpty();
        for (ConfigKey key : ConfigSchema.keys()) {
            String name = key.name();
            boolean matters = !NO_EFFECT_ON_RESULTS.contains(name) && !name.equals(REPLICAS)
                    && (powerEmas || !NO_EFFECT_WITHOUT_POWER_EMAS.contains(name));
            if (matters && !Objects.equals(stored.value(name), now.value(name))) {
                differences.add(name + " " + stored.value(name) + " → " + now.value(name));
            }
        }
        return differences;
    }
}
