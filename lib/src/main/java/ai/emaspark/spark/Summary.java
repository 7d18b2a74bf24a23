package ai.emaspark.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;

/** Reductions over json_stats lines (best errors, as pycls's sweep analysis reads them). */
final class Summary {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Summary() {}

    /** The smallest {@code field} over lines of {@code type}; 100 when there is none. */
    static double min(List<String> lines, String type, String field) {
        double best = 100.0;
        for (String line : lines) {
            try {
                JsonNode node = JSON.readTree(line);
                if (type.equals(node.path("_type").asText()) && node.has(field)) {
                    best = Math.min(best, node.path(field).asDouble());
                }
            } catch (IOException ignored) {
                // not a stats line
            }
        }
        return best;
    }
}
