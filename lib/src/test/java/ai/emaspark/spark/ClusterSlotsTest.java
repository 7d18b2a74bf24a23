package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** The application asks for NUM_GPUS task slots unless the user sized it. */
class ClusterSlotsTest {
    private static SparkConf conf(String... pairs) {
        SparkConf conf = new SparkConf(false);
        for (int i = 0; i < pairs.length; i += 2) {
            conf.set(pairs[i], pairs[i + 1]);
        }
        return conf;
    }

    @Test
    void aStandaloneApplicationAsksForOneCoreSetPerReplica() {
        SparkConf conf = conf("spark.master", "spark://10.77.0.1:7077", "spark.task.cpus", "2");
        ClusterSlots.request(conf, 4);
        assertEquals("8", conf.get("spark.cores.max"));
        assertEquals("1s", conf.get("spark.scheduler.barrier.maxConcurrentTasksCheck.interval"));

        SparkConf sized = conf("spark.master", "spark://10.77.0.1:7077", "spark.cores.max", "16",
                "spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "5s");
        ClusterSlots.request(sized, 4);
        assertEquals("16", sized.get("spark.cores.max"), "the user's size stays");
        assertEquals("5s", sized.get("spark.scheduler.barrier.maxConcurrentTasksCheck.interval"));
    }

    @Test
    void yarnAndKubernetesAskForEnoughExecutors() {
        SparkConf yarn = conf("spark.master", "yarn", "spark.executor.cores", "4", "spark.executor.resource.gpu.amount", "2",
                "spark.task.resource.gpu.amount", "1");
        assertEquals(2, ClusterSlots.slotsPerExecutor(yarn), "two GPUs limit four cores to two tasks");
        ClusterSlots.request(yarn, 5);
        assertEquals("3", yarn.get("spark.executor.instances"));

        SparkConf k8s = conf("spark.master", "k8s://https://kubernetes.default.svc");
        ClusterSlots.request(k8s, 8);
        assertEquals("8", k8s.get("spark.executor.instances"));

        SparkConf dynamic = conf("spark.master", "yarn", "spark.dynamicAllocation.enabled", "true");
        ClusterSlots.request(dynamic, 8);
        assertFalse(dynamic.contains("spark.executor.instances"), "Spark itself refuses barrier stages then, with its own message");
    }

    @Test
    void localMastersAreLeftAlone() {
        SparkConf local = conf("spark.master", "local-cluster[2,1,2048]");
        ClusterSlots.request(local, 2);
        assertFalse(local.contains("spark.cores.max"));
        assertFalse(local.contains("spark.executor.instances"));
    }
}
