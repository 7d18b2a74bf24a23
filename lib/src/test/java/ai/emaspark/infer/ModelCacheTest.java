package ai.emaspark.infer;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What one executor JVM keeps: weights read once per entry, only the entries used last, no replica of a failed task. */
class ModelCacheTest {
    @TempDir
    static Path tmp;
    private static Configuration conf;
    /** The EMA of epochs 1, 2 and 3: three entries of their own (in this test's own folder, so no other test's). */
    private static final List<ClassifierModel> EMAS = new ArrayList<>();

    @BeforeAll
    static void write() throws Exception {
        ScoringFixture world = new ScoringFixture(tmp);
        conf = world.fs.getConf();
        for (org.apache.hadoop.fs.Path checkpoint : world.checkpoints) {
            EMAS.add(new ImageClassifier().setCheckpoint(checkpoint.toString()).setEntry("ema").resolve(conf));
        }
    }

    private static ModelCache.Lease borrow(int epoch) throws Exception {
        return ModelCache.borrow(EMAS.get(epoch), conf, Device.cpu());
    }

    private static void giveBack(int epoch, ModelCache.Lease lease, boolean reusable) {
        ModelCache.giveBack(EMAS.get(epoch), Device.cpu(), lease.replica(), reusable);
    }

    @Test
    void keepsTheEntriesUsedLastAndNoReplicaOfAFailedTask() throws Exception {
        ModelCache.Lease first = borrow(0);
        assertTrue(first.readWeights(), "the first borrow reads the weights");
        giveBack(0, first, true);
        ModelCache.Lease again = borrow(0);
        assertSame(first.replica(), again.replica(), "the next task takes the idle replica");
        assertFalse(again.readWeights());

        // While epoch 1's replica is out, two other entries are used: epoch 1's is let go.
        ModelCache.Lease second = borrow(1);
        ModelCache.Lease third = borrow(2);
        assertTrue(second.readWeights() && third.readWeights());
        giveBack(0, again, true); // closed, not pooled: its entry is no longer kept
        giveBack(1, second, true);
        giveBack(2, third, true);
        ModelCache.Lease back = borrow(0);
        assertTrue(back.readWeights(), "an entry let go is read again");
        assertNotSame(again.replica(), back.replica());
        giveBack(0, back, true);

        // Epochs 1 and 3 are kept now; 2 was used longest ago.
        ModelCache.Lease kept = borrow(2);
        assertFalse(kept.readWeights(), "the entry used last is still kept");
        assertSame(third.replica(), kept.replica());
        giveBack(2, kept, false); // its task failed: closed
        ModelCache.Lease afterFailure = borrow(2);
        assertFalse(afterFailure.readWeights(), "the weights stay");
        assertNotSame(kept.replica(), afterFailure.replica(), "a new replica, not the failed task's");
        giveBack(2, afterFailure, true);

        // Epoch 2 comes back: epoch 1, used longest ago now, is let go; epoch 3 stays.
        ModelCache.Lease epoch2 = borrow(1);
        assertTrue(epoch2.readWeights());
        giveBack(1, epoch2, true);
        ModelCache.Lease epoch3 = borrow(2);
        assertFalse(epoch3.readWeights());
        giveBack(2, epoch3, true);
        ModelCache.Lease epoch1 = borrow(0);
        assertTrue(epoch1.readWeights());
        giveBack(0, epoch1, true);
    }
}
