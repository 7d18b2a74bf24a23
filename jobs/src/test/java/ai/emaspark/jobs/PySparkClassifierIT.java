package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.data.Manifest;
import ai.emaspark.eval.EvalCounts;
import ai.emaspark.jobs.local.EmbeddedHdfs;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The PySpark wrapper ({@code from emaspark.infer import ImageClassifier}, jobs/python/) as a Python user runs
 * it: pyspark 4.2.0 from PyPI (the bench venv, jobs/bin/py-venv jobs/bench) in local mode, the job jar given
 * as spark.jars and spark.submit.pyFiles, the EMA of the shared reference run's first checkpoint scoring the
 * prepared validation split (jobs/src/test/python/pyspark_classifier.py). Every image is scored, the top-1
 * error is the one the training job's evaluation wrote in meta.json, exactly, and the classifier saved from
 * Python loads back into Python and predicts the same.
 */
@ExtendWith(ItPlatform.Resolver.class)
class PySparkClassifierIT {
    private static final Path SCRIPT = SparkSubmitRun.JOBS.resolve("src/test/python/pyspark_classifier.py");

    @Test
    void pysparkScoresTheValidationSplitWithTheErrorItsCheckpointRecorded(ItPlatform platform) throws Exception {
        // The first epoch's EMA: far from perfect, so its error is a number to match, not 0 = 0 (as PredictIT).
        ItPlatform.Reference reference = platform.reference();
        org.apache.hadoop.fs.Path first = platform.store(reference.outDir()).committed().get(0);
        Checkpoint checkpoint = platform.store(reference.outDir()).loadWeights(first, platform.layout);
        assertTrue(checkpoint.emaErr() > 10, "a checkpoint whose EMA errs: " + checkpoint.emaErr());
        String python = PythonVenv.python("jobs/bench", platform.work.resolve("logs/bench-venv.log"));
        Path work = platform.work.resolve("pyspark");
        ItPlatform.deleteRecursively(work);
        Files.createDirectories(work);

        List<String> command = new ArrayList<>(List.of(python, SCRIPT.toString(),
                "--jar", SparkSubmitRun.JOBS.resolve("target/emaspark-jobs.jar").toString(),
                "--checkpoint", first.toString(), "--entry", "ema", "--split", platform.dataset + "/val",
                "--saved", work.resolve("classifier").toString(), "--java-options", driverOptions()));
        // The embedded HDFS may listen on the multi-host platform's bridge address (as ItPlatform.local() says).
        EmbeddedHdfs.clientSettings(platform.host).forEach((key, value) -> command.addAll(List.of("--conf",
                "spark.hadoop." + key + "=" + value)));
        long start = System.nanoTime();
        String output = run(work.resolve("pyspark_classifier.log"), command);
        double seconds = (System.nanoTime() - start) / 1e9;

        String line = output.lines().filter(l -> l.startsWith("PYSPARK_CLASSIFIER ")).findFirst()
                .orElseThrow(() -> new AssertionError("the script printed no PYSPARK_CLASSIFIER line:\n" + tail(output)));
        JsonNode result = new ObjectMapper().readTree(line.substring("PYSPARK_CLASSIFIER ".length()));
        System.out.printf("PySparkClassifierIT: %.0f s (Spark session %.1f s, scoring %.1f s); %s%n", seconds,
                result.path("session_s").asDouble(), result.path("score_s").asDouble(), line);
        long images = Manifest.read(platform.fs, new org.apache.hadoop.fs.Path(platform.dataset)).splits().get("val")
                .images();
        assertEquals(images, result.path("images").asLong(), "one prediction per validation image");
        assertEquals(images, result.path("predicted").asLong(), "every validation image was scored");
        // The evaluation's formula, as PredictIT computes it.
        double top1Err = new EvalCounts(images, 0, 0, result.path("top1_hits").asLong(), 0).emaTop1Err();
        assertEquals(checkpoint.emaErr(), top1Err, 0.0, "PySpark's top-1 error vs the checkpoint's ema_err");
        assertEquals(top1Err, result.path("top1_err").asDouble(), 0.0, "the script's own top-1 error");
        assertTrue(result.path("loaded_predicts_the_same").asBoolean(), "the loaded classifier predicts the same: " + line);
        assertEquals(3, result.path("loaded_top_k").asInt(), "a set Param survives save and load");
        assertEquals(platform.store(reference.outDir()).stateSha256(first, "ema.safetensors"), result.path("loaded_sha256").asText(),
                "saving recorded the checksum of the weights it scored with");
        assertTrue(Files.isDirectory(work.resolve("classifier/metadata")), "saved as Spark ML saves a stage");
    }

    /**
     * The pyspark driver JVM's options, those of the jobs' JVMs: DJL offline on the test's engine cache (no download,
     * no second extraction), one libtorch thread as on the platform's executors (the evaluation's arithmetic), the
     * build's tmp folder, the operators' log4j configuration.
     */
    private static String driverOptions() {
        return String.join(" ", "-Dai.djl.offline=true", "-DENGINE_CACHE_DIR=" + System.getProperty("ENGINE_CACHE_DIR"),
                "-Dorg.bytedeco.javacpp.cachedir=" + System.getProperty("org.bytedeco.javacpp.cachedir"),
                "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
                "-Dlog4j2.configurationFile=" + SparkSubmitRun.ROOT.resolve("conf/log4j2.properties"));
    }

    /** Runs the script with pyspark's own Spark on this JVM's Java; fails on a non-zero exit. Returns its output. */
    private static String run(Path log, List<String> command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = builder.environment();
        for (String inherited : List.of("SPARK_HOME", "SPARK_CONF_DIR", "HADOOP_CONF_DIR", "YARN_CONF_DIR",
                "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYSPARK_SUBMIT_ARGS", "PYTHONPATH")) {
            env.remove(inherited);
        }
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("TMPDIR", System.getProperty("java.io.tmpdir"));
        Process process = builder.start();
        boolean finished = process.waitFor(5, TimeUnit.MINUTES);
        if (!finished) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        String output = Files.readString(log);
        assertTrue(finished && process.exitValue() == 0, () -> String.join(" ", command)
                + (finished ? " failed" : " timed out") + "; see " + log + ":\n" + tail(output));
        return output;
    }

    private static String tail(String output) {
        return output.substring(Math.max(0, output.length() - 4000));
    }
}
