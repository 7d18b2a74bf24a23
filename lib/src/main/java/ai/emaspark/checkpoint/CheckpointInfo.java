package ai.emaspark.checkpoint;

import java.util.Map;

/**
 * What a listing says of one checkpoint folder: its meta.json's epoch and errors, the bytes of each
 * entry on disk, and whether every entry verifies against meta.json (and if not, why).
 *
 * @param epoch pycls's epoch index (from 0) of the model state; -1 when meta.json is missing or unreadable
 * @param emaEpoch the EMA state's epoch (best/ keeps each from its own best epoch)
 * @param step optimizer steps taken; -1 when meta.json does not say (best/)
 * @param problem null when it verifies
 */
public record CheckpointInfo(String name, int epoch, int emaEpoch, long step, double testErr, double testTop5Err, double emaErr,
        double emaTop5Err, Map<String, Long> entryBytes, String problem) {

    public boolean verifies() {
        return problem == null;
    }

    public long bytes() {
        return entryBytes.values().stream().mapToLong(Long::longValue).sum();
    }
}
