package ai.emaspark.infer;

import ai.djl.Device;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.model.ModelState;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The weights each executor JVM has loaded, per (checkpoint folder, entry, its checksum, device): read from the file
 * system and verified once, then kept, with the replicas built from them. A task borrows an idle replica
 * (or a new one built from the kept weights when tasks run at once) and gives it back when its partition
 * is done, so every task after the first on an executor starts scoring at once. Replicas are the training
 * job's own ({@link Replica#logits}, inference mode), so scores are the evaluation's.
 */
final class ModelCache {
    /**
     * A borrowed replica; {@code setupSeconds}: what this borrow spent building a replica (0 for an idle one),
     * {@code readWeights}: whether it read the weights from the file system (once per executor and checkpoint).
     */
    record Lease(Replica replica, double setupSeconds, boolean readWeights) {}

    private record Key(String directory, String file, String sha256, Device device) {}

    private static final class Slot {
        ModelState weights;
        final Deque<Replica> idle = new ArrayDeque<>();
    }

    private static final SgdSettings NO_TRAINING = new SgdSettings(0, 0, false, 0); // evaluation replicas, as EvalTask's
    private static final Map<Key, Slot> SLOTS = new ConcurrentHashMap<>();

    private ModelCache() {}

    static Lease borrow(ClassifierModel model, Configuration conf, Device device) throws IOException {
        Slot slot = SLOTS.computeIfAbsent(new Key(model.directory(), model.file(), model.sha256(), device), key -> new Slot());
        synchronized (slot) { // a second task of the same executor waits for the first one's load instead of repeating it
            Replica idle = slot.idle.poll();
            if (idle != null) {
                return new Lease(idle, 0, false);
            }
            long start = System.nanoTime();
            Replica replica = new Replica(model.spec(), NO_TRAINING, device);
            boolean read = slot.weights == null;
            try {
                if (read) {
                    Path directory = new Path(model.directory());
                    slot.weights = new CheckpointStore(directory.getFileSystem(conf), directory)
                            .loadState(directory, model.file(), replica.tensors().layout(), model.sha256());
                }
                replica.load(slot.weights);
            } catch (IOException | RuntimeException e) {
                replica.close();
                throw e;
            }
            return new Lease(replica, (System.nanoTime() - start) / 1e9, read);
        }
    }

    static void giveBack(ClassifierModel model, Device device, Replica replica) {
        Slot slot = SLOTS.get(new Key(model.directory(), model.file(), model.sha256(), device));
        synchronized (slot) {
            slot.idle.push(replica);
        }
    }
}
