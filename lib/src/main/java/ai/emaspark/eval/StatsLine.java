package ai.emaspark.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * One json_stats line read back (metrics.jsonl): its {@code _type}, its epoch (pycls's "k/N" label)
 * and its fields. The one place that parses the format; lines that are not stats are empty.
 */
public record StatsLine(String type, String epochLabel, JsonNode fields) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static Optional<StatsLine> parse(String line) {
        try {
            JsonNode node = JSON.readTree(line);
            if (node == null || !node.isObject()) {
                return Optional.empty();
            }
            return Optional.of(new StatsLine(node.path("_type").asText(""), node.path("epoch").asText(""), node));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Epoch index from 0 ("3/100" → 2); -1 without a readable label. */
    public int epochIndex() {
        try {
            return Integer.parseInt(epochLabel.split("/")[0]) - 1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public double value(String field) {
        return fields.path(field).asDouble(Double.NaN);
    }

    /** The smallest {@code field} over lines of {@code type}; 100 (pycls's worst error) when there is none. */
    public static double min(List<String> lines, String type, String field) {
        return lines.stream().map(StatsLine::parse).flatMap(Optional::stream)
                .filter(s -> s.type().equals(type) && s.fields().has(field))
                .mapToDouble(s -> s.value(field)).min().orElse(100.0);
    }
}
