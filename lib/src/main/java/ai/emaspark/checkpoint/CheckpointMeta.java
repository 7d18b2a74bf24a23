package ai.emaspark.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a checkpoint's {@code meta.json} says besides its entries: pycls's fields (errors are top-1/top-5
 * percentages, 100 when unknown) and the resolved config it was trained with. In {@code best/} the EMA's
 * errors are of its own best epoch ({@code emaEpoch}), not of {@code epoch}; {@code step} is -1 where
 * meta.json does not record it (best/). {@code powers} has every power EMA the folder holds, by name
 * (p0.100), with the epoch of its weights and its errors (100 when that epoch did not test it).
 */
public record CheckpointMeta(int epoch, int emaEpoch, long step, double testErr, double testTop5Err, double emaErr,
        double emaTop5Err, String configYaml, Map<String, TestErrors> powers) implements java.io.Serializable {

    /** The fields of a checkpoint without power EMAs. */
    public CheckpointMeta(int epoch, int emaEpoch, long step, double testErr, double testTop5Err, double emaErr,
            double emaTop5Err, String configYaml) {
        this(epoch, emaEpoch, step, testErr, testTop5Err, emaErr, emaTop5Err, configYaml, Map.of());
    }

    static CheckpointMeta of(JsonNode meta) {
        int epoch = meta.path("epoch").asInt();
        return new CheckpointMeta(
                epoch,
                meta.path("ema_epoch").asInt(epoch),
                meta.path("step").asLong(-1),
                meta.path("test_err").asDouble(100.0),
                meta.path("test_top5_err").asDouble(100.0),
                meta.path("ema_err").asDouble(100.0),
                meta.path("ema_top5_err").asDouble(100.0),
                meta.path("config").asText(""),
                powers(meta, epoch));
    }

    /** A checkpoint's power_emas (this epoch's), or best/'s power_ema_best (each of its own best epoch). */
    private static Map<String, TestErrors> powers(JsonNode meta, int epoch) {
        Map<String, TestErrors> powers = new LinkedHashMap<>();
        for (JsonNode profile : meta.path("power_emas").path("profiles")) {
            powers.put(profile.path("name").asText(), errors(profile, epoch));
        }
        meta.path(BestCheckpoint.POWER_EMAS).fields()
                .forEachRemaining(e -> powers.put(e.getKey(), errors(e.getValue(), e.getValue().path("epoch").asInt(epoch))));
        return java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(powers)); // by name, as they are listed
    }

    private static TestErrors errors(JsonNode node, int epoch) {
        return new TestErrors(epoch, node.path("err").asDouble(100.0), node.path("top5_err").asDouble(100.0));
    }

    /** The epoch and errors of the weights in {@code entry}: the model's, pycls's EMA's, or a power EMA's entry. */
    public TestErrors errorsOf(String entry) {
        if (entry.equals(CheckpointStore.MODEL)) {
            return new TestErrors(epoch, testErr, testTop5Err);
        }
        if (entry.equals(CheckpointStore.EMA)) {
            return new TestErrors(emaEpoch, emaErr, emaTop5Err);
        }
        TestErrors power = powers.get(CheckpointStore.powerName(entry));
        if (power == null) {
            throw new IllegalArgumentException("no entry " + entry + " in this checkpoint");
        }
        return power;
    }
}
