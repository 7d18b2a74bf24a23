package ai.emaspark.jobs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a job through the project's own jobs/bin/spark-submit, as users do; output to a log file. */
final class SparkSubmitRun {
    static final Path JOBS = Path.of(System.getProperty("emaspark.jobs.dir", ".")).toAbsolutePath().normalize();
    static final Path ROOT = JOBS.getParent();

    final Process process;
    final Path log;

    private SparkSubmitRun(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * Where and how jobs are submitted: spark-submit options (properties file, --master, --conf ...)
     * and the environment of spark-submit.
     */
    record Target(List<String> sparkArgs, Map<String, String> env) {
        Target with(String... moreSparkArgs) {
            List<String> args = new ArrayList<>(sparkArgs);
            args.addAll(List.of(moreSparkArgs));
            return new Target(args, env);
        }

        Target withEnv(String name, String value) {
            Map<String, String> more = new LinkedHashMap<>(env);
            more.put(name, value);
            return new Target(sparkArgs, more);
        }
    }

    /** Starts {@code Prepare}. */
    static SparkSubmitRun startPrepare(Target target, Path log, String... args) throws IOException {
        return start(target, "ai.emaspark.jobs.Prepare", List.of(args), log);
    }

    /** Starts {@code Train} with the quickstart config and {@code overrides}. */
    static SparkSubmitRun startTrain(Target target, Path log, String... overrides) throws IOException {
        return startTrainWithCfg(target, log, ROOT.resolve("conf/quickstart.yaml").toString(), overrides);
    }

    /** Starts {@code Train --cfg cfg} with {@code overrides} (cluster deploy mode: a file shipped with --files). */
    static SparkSubmitRun startTrainWithCfg(Target target, Path log, String cfg, String... overrides) throws IOException {
        List<String> args = new ArrayList<>(List.of("--cfg", cfg));
        args.addAll(List.of(overrides));
        return start(target, "ai.emaspark.jobs.Train", args, log);
    }

    private static SparkSubmitRun start(Target target, String mainClass, List<String> args, Path log) throws IOException {
        List<String> command = new ArrayList<>(List.of(JOBS.resolve("bin/spark-submit").toString()));
        command.addAll(target.sparkArgs());
        command.addAll(List.of("--class", mainClass, JOBS.resolve("target/emaspark-jobs.jar").toString()));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(target.env());
        // cluster-start's watchdog kills what carries this mark if this JVM dies without cleaning up.
        builder.environment().put("EMASPARK_CLUSTER_OWNER", String.valueOf(ProcessHandle.current().pid()));
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

    /** Kills the driver JVM (and, on local-cluster, the executor JVMs it started), as a lost machine would. */
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

    /** The job's "emaspark: error:" lines. */
    List<String> errors() throws IOException {
        return output().lines().filter(l -> l.startsWith("emaspark: error: ")).toList();
    }

    /** Starts {@code Predict}. */
    static SparkSubmitRun startPredict(Target target, Path log, String... args) throws IOException {
        return start(target, "ai.emaspark.jobs.Predict", List.of(args), log);
    }

    /** Starts {@code PostHocEma}. */
    static SparkSubmitRun startPostHoc(Target target, Path log, String... args) throws IOException {
        return start(target, "ai.emaspark.jobs.PostHocEma", List.of(args), log);
    }
}
