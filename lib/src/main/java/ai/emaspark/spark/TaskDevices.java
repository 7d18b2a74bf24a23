package ai.emaspark.spark;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import scala.Option;

/**
 * The device of a task: the GPU Spark assigned to it ({@code spark.task.resource.gpu.amount 1} and
 * GPUs declared by the cluster manager), else the CPU. With a CPU build of libtorch the assigned
 * GPU is named and the task runs on the CPU.
 */
public final class TaskDevices {
    private TaskDevices() {}

    /**
     * What a task trains or evaluates on.
     *
     * @param sparkGpu the GPU address Spark assigned, or null
     * @param device the DJL device used
     * @param description for logs, e.g. "gpu(1)" or "cpu (Spark assigned gpu 1; the PyTorch engine has no CUDA)"
     */
    record Choice(String sparkGpu, Device device, String description) {}

    public static Device of(TaskContext context) {
        return choose(context).device();
    }

    static Choice choose(TaskContext context) {
        Option<ResourceInformation> gpu = context.resources().get("gpu");
        String[] assigned = gpu.isDefined() ? gpu.get().addresses() : new String[0];
        return choose(assigned, assigned.length == 0 ? 0 : engineGpuCount());
    }

    /** The device for the GPU addresses Spark assigned, given how many CUDA devices the engine can use. */
    static Choice choose(String[] assigned, int engineGpus) {
        if (assigned.length == 0) {
            return new Choice(null, Device.cpu(), "cpu");
        }
        String address = assigned[0];
        if (engineGpus == 0) {
            return new Choice(address, Device.cpu(),
                    "cpu (Spark assigned gpu " + address + "; the PyTorch engine has no CUDA, so the CPU is used)");
        }
        int index;
        try {
            index = Integer.parseInt(address.trim());
        } catch (NumberFormatException e) {
            throw new IllegalStateException("Spark assigned gpu '" + address
                    + "', not a CUDA device index: make the GPU discovery script print indices (0, 1, ...)");
        }
        if (index < 0 || index >= engineGpus) {
            throw new IllegalStateException("Spark assigned gpu " + address + " but this executor sees " + engineGpus
                    + " CUDA device(s): check the GPU discovery script and CUDA_VISIBLE_DEVICES");
        }
        return new Choice(address, Device.gpu(index), "gpu(" + index + ")");
    }

    private static int engineGpuCount() {
        Engine engine = Engine.getInstance();
        return engine.hasCapability(StandardCapabilities.CUDA) ? engine.getGpuCount() : 0;
    }
}
