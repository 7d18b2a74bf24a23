package ai.emaspark.jobs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the job through the project's own jobs/bin/spark-submit, as users do; output to a log file. */
final class SparkSubmitRun {
    static final Path JOBS = Path.of(System.getProperty("emaspark.jobs.dir", ".")).toAbsolutePath();
    static final Path ROOT = JOBS.getParent();

    final Process process;
    final Path log;

    private SparkSubmitRun(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** Starts {@code Prepare} on the two-executor local cluster. */
    static SparkSubmitRun startPrepare(Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                JOBS.resolve("bin/spark-submit").toString(),
                "--properties-file", ROOT.resolve("conf/spark-local.conf").toString(),
                "--class", "ai.emaspark.jobs.Prepare",
                JOBS.resolve("target/emaspark-jobs.jar").toString()));
        command.addAll(List.of(args));
        return start(command, log, Map.of());
    }

    /** Starts {@code Train} on the two-executor local cluster with the quickstart config and {@code overrides}. */
    static SparkSubmitRun startTrain(Path log, Map<String, String> env, String... overrides) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                JOBS.resolve("bin/spark-submit").toString(),
                "--properties-file", ROOT.resolve("conf/spark-local.conf").toString(),
                "--class", "ai.emaspark.jobs.Train",
                JOBS.resolve("target/emaspark-jobs.jar").toString(),
                "--cfg", ROOT.resolve("conf/quickstart.yaml").toString()));
        command.addAll(List.of(overrides));
        return start(command, log, env);
    }

    private static SparkSubmitRun start(List<String> command, Path log, Map<String, String> env) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        Files.createDirectories(log.getParent());
        return new SparkSubmitRun(builder.start(), log);
    }

    int waitFor(long minutes) throws InterruptedException {
        if (!process.waitFor(minutes, TimeUnit.MINUTES)) {
            kill();
            throw new AssertionError("spark-submit did not finish in " + minutes + " min; see " + log);
        }
        return process.exitValue();
    }

    /** Kills the driver JVM and the executor JVMs it started, as a lost machine would. */
    void kill() throws InterruptedException {
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        tree.add(process.toHandle());
        for (ProcessHandle handle : tree) {
            handle.destroyForcibly();
        }
        for (ProcessHandle handle : tree) {
            handle.onExit().join();
        }
    }

    String output() throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }
}
