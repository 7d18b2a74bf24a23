package ai.emaspark.ema;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.auth.RunSecret;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import ai.emaspark.model.TensorSpec.Role;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The driver's EMA service and rank 0's sender over a real loopback socket. */
class EmaServiceTest {
    static final StateLayout LAYOUT = new StateLayout(List.of(
            new TensorSpec("w", new long[] {300_000}, false, true, Role.CONV_WEIGHT),
            new TensorSpec("bn.num_batches_tracked", new long[0], true, false, Role.BN_BATCH_COUNT)));
    private static final RunSecret SECRET = RunSecret.generate();

    @Test
    void appliesEverySnapshotInOrderAndKeepsOnlyTheSucceededAttempt() throws Exception {
        ModelState start = random(1);
        ModelState expected = start.copy();
        try (EmaService service = new EmaService("127.0.0.1", 0, SECRET, false, null)) {
            service.beginEpoch(4, EmaBank.of(start), 0.1);
            service.beginAttempt(0);
            // attempt 0 fails half-way: its updates must not survive
            try (EmaSnapshotSender failed = new EmaSnapshotSender("127.0.0.1", service.port(), SECRET, false, 4, 0)) {
                failed.submit(0, random(99));
                failed.flush();
            }
            service.beginAttempt(1);
            try (EmaSnapshotSender sender = new EmaSnapshotSender("127.0.0.1", service.port(), SECRET, false, 4, 1)) {
                for (int i = 0; i < 5; i++) {
                    ModelState weights = random(10 + i);
                    sender.submit(i * 32, weights);
                    EmaRule.update(expected, weights, 0.1);
                }
                assertEquals(5, sender.flush());
            }
            ModelState ema = service.finishEpoch(4, 1, 5).pycls();
            assertArrayEquals(expected.floats(), ema.floats());
            assertArrayEquals(expected.longs(), ema.longs());
        }
    }

    /**
     * Power EMAs ride along: the succeeded attempt's snapshots reach every EMA of the bank, pycls's
     * exactly as alone, and the power EMAs' t goes on from the epoch's start, not counting the failed
     * attempt's snapshots.
     */
    @Test
    void powerEmasTakeTheSameSnapshotsAndCountOnlyTheSucceededAttempts() throws Exception {
        ModelState start = random(1);
        EmaBank bank = new EmaBank(start.copy(), List.of(new EmaBank.Power(0.05, PowerEma.gamma(0.05), random(2)),
                new EmaBank.Power(0.10, PowerEma.gamma(0.10), random(3))), 7);
        ModelState pycls = start.copy();
        ModelState[] powers = {random(2), random(3)};
        try (EmaService service = new EmaService("127.0.0.1", 0, SECRET, false, null)) {
            service.beginEpoch(1, bank, 0.1);
            service.beginAttempt(0);
            try (EmaSnapshotSender failed = new EmaSnapshotSender("127.0.0.1", service.port(), SECRET, false, 1, 0)) {
                failed.submit(0, random(99));
                failed.flush();
            }
            service.beginAttempt(1);
            try (EmaSnapshotSender sender = new EmaSnapshotSender("127.0.0.1", service.port(), SECRET, false, 1, 1)) {
                for (int i = 0; i < 4; i++) {
                    ModelState weights = random(20 + i);
                    sender.submit(i * 4, weights);
                    EmaRule.update(pycls, weights, 0.1);
                    PowerEma.update(powers[0], weights, PowerEma.gamma(0.05), 8 + i);
                    PowerEma.update(powers[1], weights, PowerEma.gamma(0.10), 8 + i);
                }
                assertEquals(4, sender.flush());
            }
            EmaBank end = service.finishEpoch(1, 1, 4);
            assertArrayEquals(pycls.floats(), end.pycls().floats(), "pycls's EMA as without power EMAs");
            assertEquals(11, end.updates(), "t after 7 earlier and 4 new snapshots");
            for (int k = 0; k < 2; k++) {
                assertArrayEquals(powers[k].floats(), end.powers().get(k).state().floats(), end.powers().get(k).name());
            }
            assertEquals(List.of("p0.050", "p0.100"), end.powers().stream().map(EmaBank.Power::name).toList());
            assertArrayEquals(random(2).floats(), bank.powers().get(0).state().floats(), "the epoch's start is not touched");
        }
    }

    @Test
    void sentStatesAreHandedOutAgainAndTheEmaIsTheSame() throws Exception {
        ModelState start = random(1);
        ModelState expected = start.copy();
        java.util.Set<ModelState> made = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        try (EmaService service = new EmaService("127.0.0.1", 0, SECRET, false, null)) {
            service.beginEpoch(2, EmaBank.of(start), 0.2);
            service.beginAttempt(0);
            try (EmaSnapshotSender sender = new EmaSnapshotSender("127.0.0.1", service.port(), SECRET, false, 2, 0)) {
                for (int i = 0; i < 12; i++) {
                    ModelState weights = random(40 + i);
                    ModelState blank = sender.blank(LAYOUT);
                    made.add(blank);
                    System.arraycopy(weights.floats(), 0, blank.floats(), 0, weights.floats().length);
                    System.arraycopy(weights.longs(), 0, blank.longs(), 0, weights.longs().length);
                    sender.submit(i, blank); // as a replica's readInto fills it
                    EmaRule.update(expected, weights, 0.2);
                }
                assertEquals(12, sender.flush());
            }
            assertArrayEquals(expected.floats(), service.finishEpoch(2, 0, 12).pycls().floats(), "every snapshot applied as filled");
        }
        assertTrue(made.size() <= 3, made.size() + " states made for 12 snapshots: two in flight and one being filled at most");
    }

    @Test
    void aMissingSnapshotIsAnError() throws Exception {
        try (EmaService service = new EmaService("127.0.0.1", 0, SECRET, false, null)) {
            service.beginEpoch(0, EmaBank.of(random(1)), 0.5);
            service.beginAttempt(0);
            try (EmaSnapshotSender sender = new EmaSnapshotSender("127.0.0.1", service.port(), SECRET, false, 0, 0)) {
                sender.submit(0, random(2));
                sender.flush();
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> service.finishEpoch(0, 0, 2).pycls());
            assertEquals("epoch 1 attempt 0: EMA service received 1 weight snapshots, rank 0 sent 2", e.getMessage());
        }
    }

    @Test
    void aSenderOfAnotherEpochOrAttemptIsRefusedAtOnce() throws Exception {
        try (EmaService service = new EmaService("127.0.0.1", 0, SECRET, false, null)) {
            service.beginEpoch(3, EmaBank.of(random(1)), 0.5);
            service.beginAttempt(1);
            for (int[] other : new int[][] {{2, 1}, {3, 0}, {3, 2}}) {
                long start = System.nanoTime();
                IOException e = assertThrows(IOException.class,
                        () -> new EmaSnapshotSender("127.0.0.1", service.port(), SECRET, false, other[0], other[1]).close());
                assertTrue(e.getMessage().contains("serves another run, epoch or attempt"), e.getMessage());
                assertTrue(System.nanoTime() - start < 5e9, "refused at once, not after the sender's retries");
            }
            assertArrayEquals(random(1).floats(), service.finishEpoch(3, 1, 0).pycls().floats(), "no update: the EMA is unchanged");
        }
    }

    static ModelState random(long seed) {
        Random random = new Random(seed);
        float[] floats = new float[LAYOUT.floatCount()];
        for (int i = 0; i < floats.length; i++) {
            floats[i] = (float) random.nextGaussian();
        }
        return new ModelState(LAYOUT, floats, new long[] {seed});
    }
}
