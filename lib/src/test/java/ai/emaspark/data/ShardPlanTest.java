package ai.emaspark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ShardPlanTest {
    /** Every (shard, row) a list of windows visits, in visiting order, as shard * 1e6 + row. */
    private static List<Long> rows(List<ShardPlan.Window> windows) {
        List<Long> out = new ArrayList<>();
        for (ShardPlan.Window w : windows) {
            for (int i : w.order()) {
                out.add(w.shard() * 1_000_000L + w.from() + i);
            }
        }
        return out;
    }

    private static long[] randomShards(Random random) {
        long[] shards = new long[1 + random.nextInt(12)];
        for (int i = 0; i < shards.length; i++) {
            shards[i] = 1 + random.nextInt(400);
        }
        return shards;
    }

    @Test
    void everyRankRunsTheSameIterationsOnDisjointRowsEachAtMostOnce() {
        Random random = new Random(11);
        for (int trial = 0; trial < 300; trial++) {
            long[] shards = randomShards(random);
            long total = java.util.Arrays.stream(shards).sum();
            int world = 1 + random.nextInt(8);
            int batch = 1 + random.nextInt(16);
            if (total < (long) world * batch) {
                continue;
            }
            int window = 1 + random.nextInt(100);
            ShardPlan plan = ShardPlan.of(shards, trial, trial % 5, world, batch, window);
            assertEquals(total / ((long) world * batch), plan.iterations());
            Set<Long> seen = new HashSet<>();
            for (int rank = 0; rank < world; rank++) {
                List<Long> own = rows(plan.windows(rank));
                assertEquals((long) plan.iterations() * batch, own.size(), "rank " + rank + " of " + world);
                for (long row : own) {
                    assertTrue(seen.add(row), "row visited twice in an epoch: " + row);
                    assertTrue(row % 1_000_000L < shards[(int) (row / 1_000_000L)], "row inside its shard");
                }
                for (ShardPlan.Window w : plan.windows(rank)) {
                    assertTrue(w.size() <= window, "windows bound the memory");
                }
            }
            Set<Long> reserve = new HashSet<>();
            for (int rank = 0; rank < world; rank++) {
                for (long row : rows(plan.reserve(rank))) {
                    assertTrue(!seen.contains(row) && reserve.add(row), "the reserve is the dropped remainder");
                }
            }
            assertTrue(seen.size() + reserve.size() > total - world, "only a rounding's worth of rows is left out");
        }
    }

    @Test
    void theSeedAndEpochAloneDecideThePlan() {
        long[] shards = {300, 250, 410, 120};
        assertEquals(rows(ShardPlan.of(shards, 3, 7, 4, 8, 64).windows(2)), rows(ShardPlan.of(shards, 3, 7, 4, 8, 64).windows(2)));
        assertNotEquals(rows(ShardPlan.of(shards, 3, 7, 4, 8, 64).windows(2)), rows(ShardPlan.of(shards, 3, 8, 4, 8, 64).windows(2)));
        assertNotEquals(rows(ShardPlan.of(shards, 3, 7, 4, 8, 64).windows(2)), rows(ShardPlan.of(shards, 4, 7, 4, 8, 64).windows(2)));
    }

    @Test
    void resumingAtAnIterationNeedsOnlyThePlan() {
        long[] shards = {300, 250, 410, 120};
        List<Long> whole = rows(ShardPlan.of(shards, 1, 2, 2, 16, 50).windows(1));
        List<Long> again = rows(ShardPlan.of(shards, 1, 2, 2, 16, 50).windows(1));
        int iteration = 13;
        assertEquals(whole.subList(iteration * 16, whole.size()), again.subList(iteration * 16, again.size()));
    }

    @Test
    void windowsAreShuffledInside() {
        List<ShardPlan.Window> windows = ShardPlan.of(new long[] {1000}, 1, 0, 1, 10, 100).windows(0);
        int moved = 0;
        for (ShardPlan.Window w : windows) {
            for (int i = 0; i < w.order().length; i++) {
                moved += w.order()[i] != i ? 1 : 0;
            }
        }
        assertTrue(moved > 900, "rows move inside their window: " + moved);
    }

    @Test
    void tooFewImagesForOneBatchIsAClearError() {
        DatasetException e = assertThrows(DatasetException.class, () -> ShardPlan.of(new long[] {10, 20}, 1, 0, 2, 16, 8));
        assertTrue(e.getMessage().contains("do not fill one batch of 32"), e.getMessage());
    }
}
