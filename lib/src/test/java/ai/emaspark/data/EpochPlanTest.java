package ai.emaspark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EpochPlanTest {
    private static List<Sample> samples(int n) {
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            samples.add(new Sample("k" + i, "/d/k" + i + ".JPEG", i % 7));
        }
        return samples;
    }

    @Test
    void equalIterationsDisjointRanksEachImageAtMostOnce() {
        for (int world = 1; world <= 5; world++) {
            for (int seed = 0; seed < 20; seed++) {
                List<Sample> all = samples(1000 + seed * 13);
                EpochPlan plan = EpochPlan.of(all, seed, seed % 3, world, 16);
                assertEquals(all.size() / (world * 16), plan.iterations());
                Set<String> seen = new HashSet<>();
                for (int rank = 0; rank < world; rank++) {
                    assertEquals(plan.iterations() * 16, plan.samples(rank).size());
                    for (Sample s : plan.samples(rank)) {
                        assertTrue(seen.add(s.key()), "image used twice: " + s.key());
                    }
                }
                for (int rank = 0; rank < world; rank++) {
                    for (Sample s : plan.reserve(rank)) {
                        assertTrue(seen.add(s.key()), "reserve overlaps: " + s.key());
                    }
                }
                assertEquals(all.size(), seen.size(), "the dropped remainder is the reserve");
            }
        }
    }

    @Test
    void sameSeedAndEpochSamePlanOtherEpochOtherOrder() {
        List<Sample> all = samples(500);
        assertEquals(EpochPlan.of(all, 7, 2, 4, 8).samples(3), EpochPlan.of(all, 7, 2, 4, 8).samples(3));
        assertNotEquals(EpochPlan.of(all, 7, 2, 4, 8).samples(0), EpochPlan.of(all, 7, 3, 4, 8).samples(0));
        assertNotEquals(EpochPlan.of(all, 7, 2, 4, 8).samples(0), EpochPlan.of(all, 8, 2, 4, 8).samples(0));
    }

    @Test
    void tooFewImagesForOneBatchIsAClearError() {
        DatasetException e = assertThrows(DatasetException.class, () -> EpochPlan.of(samples(30), 1, 0, 2, 16));
        assertTrue(e.getMessage().contains("do not fill one batch of 32"), e.getMessage());
    }
}
