package ai.emaspark.spark;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * The device of a task: the GPU Spark assigned to it ({@code spark.task.resource.gpu.amount 1} and
 * GPUs declared by the cluster manager), else the CPU. A discovery script prints the GPUs as the
 * machine numbers them; under CUDA_VISIBLE_DEVICES (YARN's GPU isolation, a device plugin, the user)
 * CUDA numbers the visible ones from 0, so an address becomes its position in that list, as
 * TorchDistributor maps them. With a CPU build of libtorch the assigned GPU is named and the task
 * runs on the CPU.
 */
public final class TaskDevices {
    private static final Logger LOG = LoggerFactory.getLogger(TaskDevices.class);
    static final String VISIBLE = "CUDA_VISIBLE_DEVICES";
    private static final String SCRIPT = "spark.executor.resource.gpu.discoveryScript";

    private TaskDevices() {}

    /**
     * What a task trains or evaluates on.
     *
     * @param sparkGpu the GPU address Spark assigned, or null
     * @param device the DJL device used
     * @param description for logs, e.g. "gpu(1)" or "cpu (Spark assigned gpu 1; the PyTorch engine has no CUDA)"
     */
    public record Choice(String sparkGpu, Device device, String description) {}

    /** A training or evaluation replica's device: without a GPU from Spark, the CPU (ranks must not share a GPU unasked). */
    public static Device of(TaskContext context) {
        return choose(context).device();
    }

    /**
     * A scoring task's device: the GPU Spark assigned, else the engine's default device, as DJL chooses it
     * (its first GPU when it has CUDA: an inference job on a GPU node without Spark's GPU scheduling).
     */
    public static Choice forInference(TaskContext context) {
        Choice assigned = choose(context);
        return assigned.sparkGpu() != null ? assigned : engineDefault(engineGpuCount());
    }

    /** With no GPU from Spark: gpu(0) when the engine has CUDA devices, else the CPU. */
    static Choice engineDefault(int engineGpus) {
        return engineGpus > 0 ? new Choice(null, Device.gpu(0), "gpu(0) (the engine's default device; Spark assigned no GPU)")
                : new Choice(null, Device.cpu(), "cpu");
    }

    static Choice choose(TaskContext context) {
        NodeSetup.onExecutor(); // before the engine loads
        Option<ResourceInformation> gpu = context.resources().get("gpu");
        String[] assigned = gpu.isDefined() ? gpu.get().addresses() : new String[0];
        if (assigned.length > 1) {
            LOG.warn("Spark assigned gpus {} to this task; a replica uses one, gpu {} (set spark.task.resource.gpu.amount 1 "
                    + "to give each replica its own task)", Arrays.toString(assigned), assigned[0]);
        }
        return choose(assigned, assigned.length == 0 ? 0 : engineGpuCount(), System.getenv(VISIBLE));
    }

    /**
     * The device for the GPU addresses Spark assigned (the first, when there are several), given how
     * many CUDA devices the engine can use and the executor's CUDA_VISIBLE_DEVICES (null when unset).
     */
    static Choice choose(String[] assigned, int engineGpus, String visibleDevices) {
        if (assigned.length == 0) {
            return new Choice(null, Device.cpu(), "cpu");
        }
        String address = assigned[0].trim();
        if (!address.matches("0|[1-9][0-9]*")) {
            throw new IllegalStateException("Spark assigned gpu '" + address + "', not a CUDA device index (a UUID or MIG "
                    + "address?): make the GPU discovery script (" + SCRIPT + ") print indices as nvidia-smi numbers them (0, 1, ...)");
        }
        if (engineGpus == 0) {
            return new Choice(address, Device.cpu(),
                    "cpu (Spark assigned gpu " + address + "; the PyTorch engine has no CUDA, so the CPU is used)");
        }
        int index = cudaIndex(address, visibleDevices);
        if (index >= engineGpus) {
            throw new IllegalStateException("Spark assigned gpu " + address + " but this executor sees " + engineGpus
                    + " CUDA device(s): check the GPU discovery script (" + SCRIPT + ") and " + VISIBLE);
        }
        return new Choice(address, Device.gpu(index), "gpu(" + index + ")");
    }

    /** The CUDA index of a machine's GPU index: itself, or its position in CUDA_VISIBLE_DEVICES. */
    private static int cudaIndex(String address, String visibleDevices) {
        if (visibleDevices == null || visibleDevices.isBlank()) {
            return Integer.parseInt(address);
        }
        List<String> visible = Arrays.stream(visibleDevices.split(",")).map(String::trim).toList();
        int position = visible.indexOf(address);
        if (position < 0) {
            throw new IllegalStateException("Spark assigned gpu " + address + " but this executor's " + VISIBLE + " is '"
                    + visibleDevices + "', which does not list it: make the GPU discovery script (" + SCRIPT
                    + ") print the indices " + VISIBLE + " lists");
        }
        return position;
    }

    private static int engineGpuCount() {
        Engine engine = Engine.getInstance();
        return engine.hasCapability(StandardCapabilities.CUDA) ? engine.getGpuCount() : 0;
    }
}
