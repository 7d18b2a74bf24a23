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

    }

    @Test
    void aStandaloneApplicationAsksForWholeExecutorsOfEnoughSlots() {
        // Executors of 4 cores and 1 GPU: 8 replicas need 8 executors, 32 cores (not 8, which made 2 executors).
        SparkConf gpus = conf("spark.master", "spark://10.77.0.1:7077", "spark.executor.cores", "4",
                "spark.executor.resource.gpu.amount", "1", "spark.task.resource.gpu.amount", "1");
        ClusterSlots.request(gpus, 8);
        assertEquals("32", gpus.get("spark.cores.max"));
        // Executors of 8 cores: 2 replicas need one of them (2 cores made none).
        SparkConf wide = conf("spark.master", "spark://10.77.0.1:7077", "spark.executor.cores", "8");
        ClusterSlots.request(wide, 2);
        assertEquals("8", wide.get("spark.cores.max"));
        // The platform's repro: workers of 2 cores, executors of 2 cores and 1 GPU, NUM_GPUS 2.
        SparkConf platform = conf("spark.master", "spark://10.77.0.1:7077", "spark.executor.cores", "2",
                "spark.executor.resource.gpu.amount", "1", "spark.task.resource.gpu.amount", "1");
        ClusterSlots.request(platform, 2);
        assertEquals("4", platform.get("spark.cores.max"));
    }

    @Test
    void standaloneExecutorsWithoutACoreCountAreSizedToTheirGpus() {
        SparkConf conf = conf("spark.master", "spark://10.77.0.1:7077", "spark.executor.resource.gpu.amount", "2",
                "spark.task.resource.gpu.amount", "1", "spark.task.cpus", "3");
        ClusterSlots.request(conf, 3);
        assertEquals("6", conf.get("spark.executor.cores"), "2 GPU slots x 3 cpus");
        assertEquals("12", conf.get("spark.cores.max"), "2 executors of 6 cores");
    }

    @Test
    void dynamicAllocationIsTurnedOffForThisApplication() {
        SparkConf dynamic = conf("spark.master", "yarn", "spark.dynamicAllocation.enabled", "true",
                "spark.executor.cores", "2", "spark.executor.resource.gpu.amount", "2", "spark.task.resource.gpu.amount", "1");
        ClusterSlots.request(dynamic, 8);
        assertEquals("false", dynamic.get("spark.dynamicAllocation.enabled"), "Spark refuses barrier stages under it");
        assertEquals("4", dynamic.get("spark.executor.instances"), "and the executors are asked for instead");
    }

    @Test
    void localMastersAreLeftAlone() {
        SparkConf local = conf("spark.master", "local-cluster[2,1,2048]");
        ClusterSlots.request(local, 2);
        assertFalse(local.contains("spark.cores.max"));
        assertFalse(local.contains("spark.executor.instances"));
    }
}
