package ai.emaspark.infer;

import ai.djl.Device;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.model.ModelState;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The weights each executor JVM has loaded, per checkpoint entry (folder, entry, its checksum): read from the
 * file system and verified once, then kept, with the replicas built from them on each device. A task
 * borrows an idle replica of its device (or a new one built from the kept weights when tasks run at
 * once) and gives it back when its partition is done, so every task after the first on an executor
 * starts scoring at once. Replicas are the training job's own ({@link Replica#logits}, inference mode),
 * so scores are the evaluation's.
 *
 * <p>Only the {@link #KEPT} entries used last are kept: a long-lived session that scores checkpoint after
 * checkpoint holds two entries' weights and replicas, not every one it ever read (their native memory
 * would otherwise grow until the executor dies). A replica whose task failed is closed, not pooled.
 */
final class ModelCache {
    /** Entries kept per executor JVM, whatever its devices: enough to score a checkpoint's model and EMA side by side. */
    static final int KEPT = 2;

    /**
     * A borrowed replica; {@code setupSeconds}: what this borrow spent building a replica (0 for an idle one),
     * {@code readWeights}: whether it read the weights from the file system (once per executor and checkpoint).
     */
    record Lease(Replica replica, double setupSeconds, boolean readWeights) {}

    private record Key(String directory, String file, String sha256) {
        Key(ClassifierModel model) {
            this(model.directory(), model.file(), model.sha256());
        }
    }

    /** One entry: its weights and idle replicas (guarded by the slot), and a lock held while one is built. */
    private static final class Slot {
        final Object building = new Object(); // a second task waits for the first one's load instead of repeating it
        private ModelState weights;
        private boolean evicted;
        private final Map<Device, Deque<Replica>> idle = new HashMap<>();

        synchronized Replica takeIdle(Device device) {
            Deque<Replica> replicas = idle.get(device);
            return replicas == null ? null : replicas.poll();
        }

        synchronized ModelState weights() {
            return weights;
        }

        /** Keeps weights read for this entry unless it was let go meanwhile. */
        synchronized void keep(ModelState read) {
            if (!evicted) {
                weights = read;
            }
        }

        /** Pools a replica for the next task; false when the entry was let go (the caller closes it). */
        synchronized boolean putIdle(Device device, Replica replica) {
            if (evicted) {
                return false;
            }
            idle.computeIfAbsent(device, d -> new ArrayDeque<>()).push(replica);
            return true;
        }

        /** Never waits for a load in progress: that one finishes for its own task only. */
        synchronized void evict() {
            evicted = true;
            weights = null;
            idle.values().forEach(replicas -> replicas.forEach(Replica::close));
            idle.clear();
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);
    private static final SgdSettings NO_TRAINING = new SgdSettings(0, 0, false, 0); // evaluation replicas, as EvalTask's
    /** In the order of last use, eldest first; guarded by itself. */
    private static final Map<Key, Slot> SLOTS = new LinkedHashMap<>(8, 0.75f, true);

    private ModelCache() {}

    static Lease borrow(ClassifierModel model, Configuration conf, Device device) throws IOException {
        Slot slot = slot(new Key(model));
        synchronized (slot.building) {
            Replica idle = slot.takeIdle(device);
            if (idle != null) {
                return new Lease(idle, 0, false);
            }
            long start = System.nanoTime();
            Replica replica = new Replica(model.spec(), NO_TRAINING, device);
            ModelState weights = slot.weights();
            boolean read = weights == null;
            try {
                if (read) {
                    Path directory = new Path(model.directory());
                    weights = new CheckpointStore(directory.getFileSystem(conf), directory)
                            .loadState(directory, model.file(), replica.tensors().layout(), model.sha256());
                    slot.keep(weights);
                }
                replica.load(weights);
            } catch (IOException | RuntimeException e) {
                replica.close();
                throw e;
            }
            return new Lease(replica, (System.nanoTime() - start) / 1e9, read);
        }
    }

    /**
     * Takes a replica back from a task: kept for the next task when its entry is still cached and the task
     * ended well ({@code reusable}), closed otherwise.
     */
    static void giveBack(ClassifierModel model, Device device, Replica replica, boolean reusable) {
        Slot slot;
        synchronized (SLOTS) {
            slot = SLOTS.get(new Key(model));
        }
        if (slot == null || !reusable || !slot.putIdle(device, replica)) {
            replica.close();
        }
    }

    /** The entry's slot, now the one used last; lets go of the entries beyond {@link #KEPT}. */
    private static Slot slot(Key key) {
        Slot slot;
        List<Slot> evicted = new ArrayList<>();
        synchronized (SLOTS) {
            slot = SLOTS.computeIfAbsent(key, k -> new Slot());
            for (Iterator<Slot> eldest = SLOTS.values().iterator(); SLOTS.size() > KEPT; ) {
                evicted.add(eldest.next());
                eldest.remove();
            }
        }
        if (!evicted.isEmpty()) {
            evicted.forEach(Slot::evict);
            LOG.info("model cache: let go of the weights of {} checkpoint entr{} used longest ago (keeps {})", evicted.size(),
                    evicted.size() == 1 ? "y" : "ies", KEPT);
        }
        return slot;
    }
}
