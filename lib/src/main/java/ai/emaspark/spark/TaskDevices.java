package ai.emaspark.spark;

import ai.djl.Device;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import scala.Option;

/**
 * The device of a task: the GPU Spark assigned to it (spark.task.resource.gpu.amount=1 and a
 * discovery script on the cluster), else the CPU.
 */
final class TaskDevices {
    private TaskDevices() {}

    static Device of(TaskContext context) {
        Option<ResourceInformation> gpu = context.resources().get("gpu");
        if (gpu.isDefined() && gpu.get().addresses().length > 0) {
            return Device.gpu(Integer.parseInt(gpu.get().addresses()[0]));
        }
        return Device.cpu();
    }

    /** The address peers reach this executor at: SPARK_LOCAL_IP when set, as Spark itself does. */
    static String localHost() throws java.net.UnknownHostException {
        String configured = System.getenv("SPARK_LOCAL_IP");
        return configured != null && !configured.isBlank() ? configured : java.net.InetAddress.getLocalHost().getHostAddress();
    }
}
