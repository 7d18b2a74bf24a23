package ai.emaspark.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Map;
import java.util.TreeMap;

/** pycls's {@code json_stats} lines: sorted keys, floats rounded to 6 decimals. */
public final class JsonStats {
    public static final String TAG = "json_stats: ";
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonStats() {}

    /** The JSON object alone, as a metrics.jsonl line. */
    public static String json(Map<String, Object> stats) {
        Map<String, Object> sorted = new TreeMap<>();
        for (Map.Entry<String, Object> entry : stats.entrySet()) {
            Object value = entry.getValue();
            if (value instanceof Double || value instanceof Float) {
                value = BigDecimal.valueOf(((Number) value).doubleValue()).setScale(6, RoundingMode.HALF_EVEN).doubleValue();
            }
            sorted.put(entry.getKey(), value);
        }
        try {
            return JSON.writeValueAsString(sorted);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The log line: {@code json_stats: {...}}. */
    public static String line(Map<String, Object> stats) {
        return TAG + json(stats);
    }

    /** pycls's epoch label, e.g. "3/100" for epoch index 2. */
    public static String epochLabel(int curEpoch, int maxEpoch) {
        return (curEpoch + 1) + "/" + maxEpoch;
    }
}
