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
        TaskDevices.Choice choice = TaskDevices.choose(new String[0], 4, null);
        assertEquals(Device.cpu(), choice.device());
        assertNull(choice.sparkGpu());
        assertEquals("cpu", choice.description());
    }

    @Test
    void scoringWithoutAGpuFromSparkUsesTheEnginesDefaultDeviceAsDjlDoes() {
        // A Predict job on a CUDA node of a cluster without Spark's GPU scheduling: the GPU, not the CPU.
        assertEquals(Device.gpu(0), TaskDevices.engineDefault(2).device());
        assertTrue(TaskDevices.engineDefault(2).description().startsWith("gpu(0) (the engine's default device"));
        assertEquals(Device.cpu(), TaskDevices.engineDefault(0).device());
        assertEquals("cpu", TaskDevices.engineDefault(0).description());
    }

    @Test
    void theAssignedGpuIsTheCudaDeviceOfThatIndex() {
        for (int gpu = 0; gpu < 4; gpu++) {
            TaskDevices.Choice choice = TaskDevices.choose(new String[] {String.valueOf(gpu)}, 4, null);
            assertEquals(Device.gpu(gpu), choice.device());
            assertEquals("gpu(" + gpu + ")", choice.description());
        }
        assertEquals(Device.gpu(2), TaskDevices.choose(new String[] {"2"}, 4, "").device(), "an empty variable is unset");
    }

    @Test
    void underCudaVisibleDevicesAnAddressIsItsPositionInTheList() {
        // YARN isolation or a device plugin left GPUs 2 and 3 of the machine visible: CUDA calls them 0 and 1.
        assertEquals(Device.gpu(0), TaskDevices.choose(new String[] {"2"}, 2, "2,3").device());
        assertEquals(Device.gpu(1), TaskDevices.choose(new String[] {"3"}, 2, "2, 3").device());
        assertEquals("gpu(1)", TaskDevices.choose(new String[] {"3"}, 2, "2,3").description());
        IllegalStateException hidden = assertThrows(IllegalStateException.class,
                () -> TaskDevices.choose(new String[] {"1"}, 2, "2,3"));
        assertEquals("Spark assigned gpu 1 but this executor's CUDA_VISIBLE_DEVICES is '2,3', which does not list it: make the "
                + "GPU discovery script (spark.executor.resource.gpu.discoveryScript) print the indices CUDA_VISIBLE_DEVICES lists",
                hidden.getMessage());
    }

    @Test
    void aTaskGivenSeveralGpusTrainsOnTheFirst() {
        TaskDevices.Choice choice = TaskDevices.choose(new String[] {"1", "3"}, 4, null);
        assertEquals(Device.gpu(1), choice.device());
        assertEquals("1", choice.sparkGpu());
    }

    @Test
    void aCpuEngineTrainsOnTheCpuAndSaysWhichGpuItWasGiven() {
        TaskDevices.Choice choice = TaskDevices.choose(new String[] {"1"}, 0, "5");
        assertEquals(Device.cpu(), choice.device());
        assertEquals("1", choice.sparkGpu());
        assertTrue(choice.description().contains("Spark assigned gpu 1; the PyTorch engine has no CUDA"), choice.description());
    }

    @Test
    void uuidAndMigAddressesAreRefusedWithTheSettingToChange() {
        for (String address : new String[] {"GPU-5f2a7c1e-93b4-4d11-8f0e-2b7d6a9c0e11", "MIG-GPU-5f2a/1/0", "MIG-7d3e", "01"}) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> TaskDevices.choose(new String[] {address}, 2, null));
            assertEquals("Spark assigned gpu '" + address + "', not a CUDA device index (a UUID or MIG address?): make the GPU "
                    + "discovery script (spark.executor.resource.gpu.discoveryScript) print indices as nvidia-smi numbers them "
                    + "(0, 1, ...)", e.getMessage());
        }
    }

    @Test
    void anAddressTheEngineCannotUseIsAClearError() {
        IllegalStateException beyond = assertThrows(IllegalStateException.class,
                () -> TaskDevices.choose(new String[] {"3"}, 2, null));
        assertTrue(beyond.getMessage().contains("sees 2 CUDA device(s)"), beyond.getMessage());
    }
}
