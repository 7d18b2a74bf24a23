package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class DriverMemoryTest {
    private static final long MB = 1 << 20;

    /** ResNet-50's 102 MB state with two power EMAs: 1 model + 1 momentum + 3 x 3 EMAs + 2 in flight = 13 states. */
    @Test
    void aHeapTooSmallForTheEmasIsRefusedInOneLineNamingWhatToSet() {
        DriverMemory fits = new DriverMemory(102 * MB, 3, 2048 * MB);
        assertEquals(13 * 102 * MB, fits.needed());
        assertNull(fits.problem());
        assertEquals("3 EMA(s) on the driver (pycls's and 2 power EMA(s)), 102 MB each; with the model, momentum and each "
                + "EMA's staged copies the driver needs about 1326 MB of its 2048 MB heap", fits.describe());
        assertEquals("the driver needs about 1326 MB for the model, momentum and 3 EMA(s) (102 MB each, 3 copies while an epoch "
                + "trains) but its heap is 1024 MB: raise spark.driver.memory to at least 1658 MB, or keep fewer "
                + "EMA.POWER_SIGMA_RELS", new DriverMemory(102 * MB, 3, 1024 * MB).problem());
    }
}
