package ai.emaspark.ema;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import ai.emaspark.model.TensorSpec.Role;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The driver's EMA service and rank 0's sender over a real loopback socket. */
class EmaServiceTest {
    private static final StateLayout LAYOUT = new StateLayout(List.of(
            new TensorSpec("w", new long[] {300_000}, false, true, Role.CONV_WEIGHT),
            new TensorSpec("bn.num_batches_tracked", new long[0], true, false, Role.BN_BATCH_COUNT)));

    @Test
    void appliesEverySnapshotInOrderAndKeepsOnlyTheSucceededAttempt() throws Exception {
        ModelState start = random(1);
        ModelState expected = start.copy();
        try (EmaService service = new EmaService("127.0.0.1", 0, null)) {
            service.beginEpoch(4, start, 0.1);
            // attempt 0 fails half-way: its updates must not survive
            try (EmaSnapshotSender failed = new EmaSnapshotSender("127.0.0.1", service.port(), 4, 0)) {
                failed.submit(0, random(99));
                failed.flush();
            }
            try (EmaSnapshotSender sender = new EmaSnapshotSender("127.0.0.1", service.port(), 4, 1)) {
                for (int i = 0; i < 5; i++) {
                    ModelState weights = random(10 + i);
                    sender.submit(i * 32, weights);
                    EmaRule.update(expected, weights, 0.1);
                }
                assertEquals(5, sender.flush());
            }
            ModelState ema = service.finishEpoch(4, 1, 5);
            assertArrayEquals(expected.floats(), ema.floats());
            assertArrayEquals(expected.longs(), ema.longs());
        }
    }

    @Test
    void aMissingSnapshotIsAnError() throws Exception {
        try (EmaService service = new EmaService("127.0.0.1", 0, null)) {
            service.beginEpoch(0, random(1), 0.5);
            try (EmaSnapshotSender sender = new EmaSnapshotSender("127.0.0.1", service.port(), 0, 0)) {
                sender.submit(0, random(2));
                sender.flush();
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> service.finishEpoch(0, 0, 2));
            assertEquals("epoch 1 attempt 0: EMA service received 1 weight snapshots, rank 0 sent 2", e.getMessage());
        }
    }

    @Test
    void snapshotsOfAnotherEpochAreRefused() throws Exception {
        try (EmaService service = new EmaService("127.0.0.1", 0, null)) {
            service.beginEpoch(3, random(1), 0.5);
            try (EmaSnapshotSender stale = new EmaSnapshotSender("127.0.0.1", service.port(), 2, 0)) {
                stale.submit(0, random(2));
                assertThrows(java.io.IOException.class, stale::flush);
            }
            assertArrayEquals(random(1).floats(), service.finishEpoch(3, 0, 0).floats(), "no update: the EMA is unchanged");
        }
    }

    private static ModelState random(long seed) {
        Random random = new Random(seed);
        float[] floats = new float[LAYOUT.floatCount()];
        for (int i = 0; i < floats.length; i++) {
            floats[i] = (float) random.nextGaussian();
        }
        return new ModelState(LAYOUT, floats, new long[] {seed});
    }
}
