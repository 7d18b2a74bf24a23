package ai.emaspark.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a checkpoint's {@code meta.json} says besides its entries: pycls's fields (errors are top-1/top-5
 * percentages, 100 when unknown) and the resolved config it was trained with. In {@code best/} the EMA's
 * errors are of its own best epoch ({@code emaEpoch}), not of {@code epoch}; {@code step} is -1 where
 * meta.json does not record it (best/).
 */
public record CheckpointMeta(int epoch, int emaEpoch, long step, double testErr, double testTop5Err, double emaErr,
        double emaTop5Err, String configYaml) implements java.io.Serializable {

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
                meta.path("config").asText(""));
    }
}
