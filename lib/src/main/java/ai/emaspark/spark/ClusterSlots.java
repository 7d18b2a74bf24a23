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
    static final String DYNAMIC_ALLOCATION = "spark.dynamicAllocation.enabled";

    private ClusterSlots() {}

    /**
     * Before the SparkContext starts: Spark re-checks a barrier stage's slots every second instead of
     * every 15 s, dynamic allocation is turned off (Spark refuses barrier stages under it), and the
     * application asks for the executors NUM_GPUS slots need unless the user sized it: whole executors
     * (spark.cores.max = executors x spark.executor.cores) on a standalone master,
     * spark.executor.instances on YARN and Kubernetes.
     */
    static void request(SparkConf conf, int world) {
        conf.setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s");
        if (conf.getBoolean(DYNAMIC_ALLOCATION, false)) {
            conf.set(DYNAMIC_ALLOCATION, "false");
            LOG.warn("{} turned off for this application: its barrier stages need all {} replicas at once, which Spark "
                    + "refuses under dynamic allocation (the cluster's default is unchanged)", DYNAMIC_ALLOCATION, world);
        }
        String master = conf.get("spark.master", "");
        if (master.startsWith("spark://") && !conf.contains("spark.cores.max")) {
            requestStandalone(conf, world);
        } else if ((master.equals("yarn") || master.startsWith("k8s://")) && !conf.contains("spark.executor.instances")) {
            int perExecutor = slotsPerExecutor(conf);
            int executors = (world + perExecutor - 1) / perExecutor;
            conf.set("spark.executor.instances", String.valueOf(executors));
            LOG.info("asking for {} executors (spark.executor.instances) of {} task slot(s) each for {} replicas",
                    executors, perExecutor, world);
        }
    }

    /**
     * A standalone master grants cores, not executors: with spark.executor.cores set, every executor
     * takes that many, so the cores asked for must be whole executors of enough slots. Without it an
     * executor takes every free core of its worker but only its own GPUs; executors are then sized to
     * their GPUs so that no core is taken that no task can use.
     */
    private static void requestStandalone(SparkConf conf, int world) {
        int taskCpus = conf.getInt("spark.task.cpus", 1);
        int gpuSlots = gpuSlotsPerExecutor(conf);
        if (!conf.contains("spark.executor.cores") && gpuSlots > 0) {
            conf.set("spark.executor.cores", String.valueOf(gpuSlots * taskCpus));
            LOG.info("executors sized to their GPUs: spark.executor.cores {} ({} GPU slot(s) x spark.task.cpus {})",
                    gpuSlots * taskCpus, gpuSlots, taskCpus);
        }
        if (!conf.contains("spark.executor.cores")) {
            conf.set("spark.cores.max", String.valueOf(world * taskCpus));
            LOG.info("asking the standalone master for {} cores (spark.cores.max): {} replicas x spark.task.cpus {}",
                    world * taskCpus, world, taskCpus);
            return;
        }
        int perExecutor = slotsPerExecutor(conf);
        int executors = (world + perExecutor - 1) / perExecutor;
        int cores = executors * conf.getInt("spark.executor.cores", 1);
        conf.set("spark.cores.max", String.valueOf(cores));
        LOG.info("asking the standalone master for {} cores (spark.cores.max): {} executors of spark.executor.cores {}, "
                + "{} task slot(s) each, for {} replicas", cores, executors, conf.get("spark.executor.cores"), perExecutor, world);
    }

    /** Task slots of one executor: its cores over spark.task.cpus, and its GPUs over the task's. */
    static int slotsPerExecutor(SparkConf conf) {
        int slots = Math.max(1, conf.getInt("spark.executor.cores", 1) / conf.getInt("spark.task.cpus", 1));
        int gpuSlots = gpuSlotsPerExecutor(conf);
        return gpuSlots > 0 ? Math.min(slots, gpuSlots) : slots;
    }

    /** Task slots an executor's GPUs allow, or 0 when tasks ask for no GPU. */
    private static int gpuSlotsPerExecutor(SparkConf conf) {
        double taskGpus = conf.getDouble("spark.task.resource.gpu.amount", 0);
        double executorGpus = conf.getDouble("spark.executor.resource.gpu.amount", 0);
        return taskGpus > 0 && executorGpus > 0 ? Math.max(1, (int) (executorGpus / taskGpus)) : 0;
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
