package ai.emaspark.checkpoint;

import java.util.Map;

/**
 * What a listing says of one checkpoint folder: its meta.json (null when missing or unreadable), the
 * bytes of each entry on disk, and whether every entry verifies against meta.json (and if not, why).
 *
 * @param problem null when it verifies
 */
public record CheckpointInfo(String name, CheckpointMeta meta, Map<String, Long> entryBytes, String problem) {

    public boolean verifies() {
        return problem == null;
    }

    public long bytes() {
        return entryBytes.values().stream().mapToLong(Long::longValue).sum();
    }
}
