package ai.emaspark.jobs;

import static ai.emaspark.jobs.ItPlatform.EPOCHS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.checkpoint.Checkpoint;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The DAG shipped in jobs/airflow, run by real Airflow 3 (the venv of {@code jobs/bin/py-venv
 * jobs/airflow}) through the Spark provider's SparkSubmitOperator and the project's spark-submit:
 * prepare is skipped (the dataset is prepared), the train task's driver is killed after its first
 * checkpoint, Airflow retries the task, the retry resumes, report runs, and the run ends with the
 * model, EMA and momentum of the fault-free run, bit for bit.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(ItPlatform.Resolver.class)
class AirflowDagIT {
    private static final Path HARNESS = SparkSubmitRun.ROOT.resolve("jobs/src/test/python/airflow_dag_test.py");

    private ItPlatform platform;
    private String python;

    @BeforeAll
    void airflowVenv(ItPlatform platform) throws Exception {
        this.platform = platform;
        python = PythonVenv.python("jobs/airflow", platform.work.resolve("logs/airflow-venv.log"));
    }

    @Test
    void airflowRetriesTheKilledTrainTaskAndTheRetryResumesToTheFaultFreeResult() throws Exception {
        String outDir = platform.uri + "/runs/airflow";
        Path home = platform.work.resolve("airflow");
        ItPlatform.deleteRecursively(home);
        Path result = home.resolve("result.json");
        Path log = platform.work.resolve("logs/airflow-dag.log");
        SparkSubmitRun.Target target = platform.cluster();

        List<String> command = new ArrayList<>(List.of(python, HARNESS.toString(),
                "--project", SparkSubmitRun.ROOT.toString(), "--airflow-home", home.toString(),
                "--webhdfs", platform.webHdfs, "--dataset", platform.dataset, "--raw", platform.raw,
                "--out-dir", outDir, "--epochs", String.valueOf(EPOCHS), "--result", result.toString(), "--"));
        command.addAll(target.sparkArgs());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(target.env());
        // The harness and every spark-submit under it carry the mark of this JVM for the platform's watchdog.
        builder.environment().put("EMASPARK_CLUSTER_OWNER", String.valueOf(ProcessHandle.current().pid()));
        Process harness = builder.start();
        if (!harness.waitFor(10, TimeUnit.MINUTES)) {
            harness.descendants().forEach(ProcessHandle::destroyForcibly);
            harness.destroyForcibly();
            throw new AssertionError("the Airflow DAG test did not finish in 10 min; see " + log);
        }
        assertEquals(0, harness.exitValue(), () -> "the Airflow DAG test failed; see " + log);

        JsonNode summary = new ObjectMapper().readTree(result.toFile());
        assertEquals("success", summary.path("dag_run").asText(), summary::toPrettyString);
        assertTrue(summary.path("killed").isObject(), () -> "the train driver was killed: " + summary);
        JsonNode tasks = summary.path("tasks");
        assertEquals("skipped", tasks.path("prepare").path(0).path("state").asText(), "prepare skipped: the dataset is prepared");
        JsonNode train = tasks.path("train");
        assertEquals(2, train.size(), () -> "train: the killed try and its retry: " + train);
        assertEquals("failed", train.path(0).path("state").asText(), () -> "the killed try (as Airflow's history keeps it): " + train);
        assertEquals("success", train.path(1).path("state").asText(), () -> "the retry: " + train);
        assertEquals("success", tasks.path("report").path(0).path("state").asText(), () -> "report: " + tasks);
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(output.contains("resuming from " + outDir + "/checkpoints/"), "the retry resumed; see " + log);

        assertEquals(EPOCHS, platform.store(outDir).committed().size());
        Checkpoint end = platform.lastCheckpoint(outDir);
        Checkpoint reference = platform.reference().last();
        TrainJobIT.assertSameRun(reference, end, "without faults");
    }
}
