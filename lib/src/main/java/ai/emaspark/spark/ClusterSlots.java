package ai.emaspark.spark;

import java.time.Duration;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The task slots of the barrier stages: one per replica (NUM_GPUS), all at once. Asked for when the
 * user did not size the application, and waited for, boundedly, before each attempt: Spark itself
 * would poll every 15 s for 10 minutes before giving up on a cluster that is too small.
 */
final class ClusterSlots {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterSlots.class);
    private static final long POLL_MS = 200;

    private ClusterSlots() {}

    /**
     * Before the SparkContext starts: Spark re-checks a barrier stage's slots every second instead of
     * every 15 s, and the application asks for NUM_GPUS slots (spark.cores.max on a standalone master,
     * spark.executor.instances on YARN and Kubernetes) unless the user sized it.
     */
    static void request(SparkConf conf, int world) {
        conf.setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s");
        String master = conf.get("spark.master", "");
        int taskCpus = conf.getInt("spark.task.cpus", 1);
        if (master.startsWith("spark://") && !conf.contains("spark.cores.max")) {
            conf.set("spark.cores.max", String.valueOf(world * taskCpus));
            LOG.info("asking the standalone master for {} cores (spark.cores.max): {} replicas x spark.task.cpus {}",
                    world * taskCpus, world, taskCpus);
        } else if ((master.equals("yarn") || master.startsWith("k8s://")) && !conf.contains("spark.executor.instances")
                && !conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
            int perExecutor = slotsPerExecutor(conf);
            int executors = (world + perExecutor - 1) / perExecutor;
            conf.set("spark.executor.instances", String.valueOf(executors));
            LOG.info("asking for {} executors (spark.executor.instances) of {} task slot(s) each for {} replicas",
                    executors, perExecutor, world);
        }
    }

    /** Task slots of one executor: its cores over spark.task.cpus, and its GPUs over the task's. */
    static int slotsPerExecutor(SparkConf conf) {
        int slots = Math.max(1, conf.getInt("spark.executor.cores", 1) / conf.getInt("spark.task.cpus", 1));
        double taskGpus = conf.getDouble("spark.task.resource.gpu.amount", 0);
        double executorGpus = conf.getDouble("spark.executor.resource.gpu.amount", 0);
        if (taskGpus > 0 && executorGpus > 0) {
            slots = Math.min(slots, Math.max(1, (int) (executorGpus / taskGpus)));
        }
        return slots;
    }

    /** Task slots the cluster offers now, busy or free (Spark's count for barrier stages). */
    static int offered(SparkContext sc) {
        return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
    }

    /** Waits until {@code needed} slots are offered or {@code timeout} passes; returns the slots offered. */
    static int await(SparkContext sc, int needed, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int offered = offered(sc);
        while (offered < needed && System.nanoTime() < deadline) {
            try {
                Thread.sleep(POLL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            offered = offered(sc);
        }
        return offered;
    }

    /** What the cluster offers, for messages: "4 task slots on 4 executors". */
    static String describe(SparkContext sc, int offered) {
        int executors = sc.getExecutorIds().size();
        return offered + " task slot" + (offered == 1 ? "" : "s") + " on " + executors + " executor" + (executors == 1 ? "" : "s");
    }
}
