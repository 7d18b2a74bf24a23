package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

/** The GPU Spark assigned to a task becomes the DJL device the job trains on. */
class TaskDevicesTest {
    @Test
    void noGpuAssignedMeansTheCpu() {
        TaskDevices.Choice choice = TaskDevices.choose(new String[0], 4);
        assertEquals(Device.cpu(), choice.device());
        assertNull(choice.sparkGpu());
        assertEquals("cpu", choice.description());
    }

    @Test
    void theAssignedGpuIsTheCudaDeviceOfThatIndex() {
        for (int gpu = 0; gpu < 4; gpu++) {
            TaskDevices.Choice choice = TaskDevices.choose(new String[] {String.valueOf(gpu)}, 4);
            assertEquals(Device.gpu(gpu), choice.device());
            assertEquals("gpu(" + gpu + ")", choice.description());
        }
    }

    @Test
    void aCpuEngineTrainsOnTheCpuAndSaysWhichGpuItWasGiven() {
        TaskDevices.Choice choice = TaskDevices.choose(new String[] {"1"}, 0);
        assertEquals(Device.cpu(), choice.device());
        assertEquals("1", choice.sparkGpu());
        assertTrue(choice.description().contains("Spark assigned gpu 1; the PyTorch engine has no CUDA"), choice.description());
    }

    @Test
    void anAddressTheEngineCannotUseIsAClearError() {
        IllegalStateException beyond = assertThrows(IllegalStateException.class, () -> TaskDevices.choose(new String[] {"3"}, 2));
        assertTrue(beyond.getMessage().contains("sees 2 CUDA device(s)"), beyond.getMessage());
        IllegalStateException uuid = assertThrows(IllegalStateException.class, () -> TaskDevices.choose(new String[] {"GPU-5f2a"}, 2));
        assertTrue(uuid.getMessage().contains("not a CUDA device index"), uuid.getMessage());
    }
}
