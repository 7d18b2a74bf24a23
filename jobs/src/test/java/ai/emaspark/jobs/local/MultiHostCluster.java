package ai.emaspark.jobs.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The multi-host platform of jobs/bin/cluster-start, driven from tests: a standalone master on the
 * bridge address and workers in their own network namespaces, with their links and processes at
 * the tests' mercy (jobs/bin/cluster-worker). Torn down by {@link #close()}, and by cluster-start's
 * watchdog when the test JVM dies without closing it.
 */
public final class MultiHostCluster implements AutoCloseable {
    /** The bridge address: master, driver and embedded HDFS. */
    public static final String HOST = "10.77.0.1";
    /** cluster-start's exit code when namespaces cannot be made (not root). */
    private static final int NOT_ROOT = 3;

    private final Path jobs;
    private final Path dir;
    private final int workers;

    private MultiHostCluster(Path jobs, int workers) {
        this.jobs = jobs;
        this.dir = jobs.resolve("target/cluster");
        this.workers = workers;
    }

    /**
     * Starts the platform, or returns the one line saying why it cannot run here (not root).
     *
     * @param args cluster-start options, e.g. --workers 2 --cores 2 --gpus 2
     */
    public static Start start(Path jobs, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(jobs.resolve("bin/cluster-start").toString(),
                "--owner", String.valueOf(ProcessHandle.current().pid())));
        command.addAll(List.of(args));
        Path log = jobs.resolve("target/cluster-start.log");
        Files.createDirectories(log.getParent());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!process.waitFor(3, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IOException("cluster-start did not finish in 3 minutes; see " + log);
        }
        String output = Files.readString(log, StandardCharsets.UTF_8).strip();
        if (process.exitValue() == NOT_ROOT) {
            return new Start(null, output);
        }
        if (process.exitValue() != 0) {
            throw new IOException("cluster-start failed (exit " + process.exitValue() + "):\n" + output);
        }
        int workers = 2;
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--workers")) {
                workers = Integer.parseInt(args[i + 1]);
            }
        }
        return new Start(new MultiHostCluster(jobs, workers), output);
    }

    /** The platform, or why there is none. */
    public record Start(MultiHostCluster cluster, String output) {}

    /** The spark-submit properties file cluster-start wrote. */
    public Path sparkConf() {
        return dir.resolve("spark.conf");
    }

    public int workers() {
        return workers;
    }

    public static String workerAddress(int worker) {
        return "10.77.0." + (10 + worker);
    }

    public void linkDown(int worker) throws IOException, InterruptedException {
        run("cluster-worker", String.valueOf(worker), "link-down");
    }

    public void linkUp(int worker) throws IOException, InterruptedException {
        run("cluster-worker", String.valueOf(worker), "link-up");
    }

    /** The machine goes silent: its link drops and its processes stop (SIGSTOP). */
    public void freeze(int worker) throws IOException, InterruptedException {
        run("cluster-worker", String.valueOf(worker), "freeze");
    }

    /** Its processes go on and its link comes back. */
    public void thaw(int worker) throws IOException, InterruptedException {
        run("cluster-worker", String.valueOf(worker), "thaw");
    }

    /** The machine dies: its worker and executors are killed. */
    public void kill(int worker) throws IOException, InterruptedException {
        run("cluster-worker", String.valueOf(worker), "kill");
    }

    /** A new worker process starts on the machine and registers. */
    public void startWorker(int worker) throws IOException, InterruptedException {
        run("cluster-worker", String.valueOf(worker), "start");
    }

    /** Waits until the master counts {@code count} workers alive (e.g. after a link came back). */
    public void awaitAliveWorkers(int count, long timeoutMs) throws IOException, InterruptedException {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://" + HOST + ":8080/json/")).timeout(java.time.Duration.ofSeconds(5)).build();
        long deadline = System.currentTimeMillis() + timeoutMs;
        int alive = -1;
        while (System.currentTimeMillis() < deadline) {
            String json = http.send(request, java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            alive = json.split("\"state\" : \"ALIVE\"", -1).length - 1;
            if (alive >= count) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError(alive + " of " + count + " workers alive after " + timeoutMs / 1000 + " s");
    }

    /** The application folders the workers have now (one per application and worker). */
    public Set<Path> applications() throws IOException {
        Set<Path> apps = new java.util.TreeSet<>();
        for (int i = 1; i <= workers; i++) {
            Path work = dir.resolve("worker-" + i + "/work");
            if (Files.isDirectory(work)) {
                try (Stream<Path> list = Files.list(work)) {
                    list.forEach(apps::add);
                }
            }
        }
        return apps;
    }

    /**
     * Waits until an executor of an application started after {@code before} logs a line in which
     * {@code text} (a regular expression) is found.
     */
    public void awaitExecutorLog(Set<Path> before, String text, long timeoutMs) throws IOException, InterruptedException {
        java.util.regex.Pattern pattern = java.util.regex.Pattern.compile(text);
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < deadline) {
            for (Path app : applications()) {
                if (!before.contains(app) && contains(app, pattern)) {
                    return;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no executor logged '" + text + "' within " + timeoutMs / 1000 + " s");
    }

    private static boolean contains(Path app, java.util.regex.Pattern pattern) throws IOException {
        try (Stream<Path> executors = Files.list(app)) {
            for (Path stderr : executors.map(e -> e.resolve("stderr")).filter(Files::isRegularFile).toList()) {
                if (pattern.matcher(Files.readString(stderr, StandardCharsets.ISO_8859_1)).find()) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Processes of ours in the worker namespaces (for the no-leftovers check). */
    public static String leftovers() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", "-c",
                "ip netns list 2>/dev/null | grep -E '^emsw[0-9]+' ; ip -o link show 2>/dev/null | grep -oE 'ems(br|v)[0-9]+'")
                .redirectErrorStream(true).start();
        p.waitFor(30, TimeUnit.SECONDS);
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines()
                .collect(Collectors.joining(", "));
    }

    private void run(String script, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(jobs.resolve("bin/" + script).toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(2, TimeUnit.MINUTES) || process.exitValue() != 0) {
            throw new IOException(script + " " + String.join(" ", args) + " failed: " + output);
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run("cluster-stop", "--quiet");
    }
}
