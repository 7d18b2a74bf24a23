package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class DriverMemoryTest {
    private static final long MB = 1 << 20;

    /**
     * ResNet-50's 102 MB state with two power EMAs: 1 model + 1 momentum + 3 x 3 EMAs + 4 of the epoch's
     * result + 4 evaluated = 19 states, and a quarter more. A 2 GB driver ran out of heap at an epoch's end
     * with ResNet-50's 90 MB and these EMAs (jobs/bin/bench-scaling --ema), though the old count said 1170 MB.
     */
    @Test
    void aHeapTooSmallForTheEmasIsRefusedInOneLineNamingWhatToSet() {
        DriverMemory fits = new DriverMemory(102 * MB, 3, 4096 * MB);
        assertEquals(19 * 102 * MB * 5 / 4, fits.needed());
        assertNull(fits.problem());
        assertEquals("3 EMA(s) on the driver (pycls's and 2 power EMA(s)), 102 MB each; with the model, momentum, each "
                + "EMA's staged copies, the epoch's result and its evaluation the driver needs about 2423 MB of its 4096 MB heap",
                fits.describe());
        assertEquals("the driver needs about 2423 MB for the model, momentum, the epoch's result and 3 EMA(s) (102 MB each, 3 "
                + "copies while an epoch trains) but its heap is 2048 MB: raise spark.driver.memory to at least 3029 MB, or keep "
                + "fewer EMA.POWER_SIGMA_RELS", new DriverMemory(102 * MB, 3, 2048 * MB).problem());
        assertNotNull(new DriverMemory(90 * MB, 3, 2048 * MB).problem(), "the benchmark's OutOfMemoryError is refused at start");
        assertNull(new DriverMemory(90 * MB, 1, 2048 * MB).problem(), "pycls's EMA alone still fits there");
    }
}
