package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Nothing is left behind when the process that started a multi-host platform dies without stopping
 * it (a test JVM killed by a timeout, a developer's Ctrl-C): cluster-start's watchdog removes the
 * namespaces, links and processes. Runs a second, one-worker platform under other names beside
 * the shared one.
 */
class ClusterTeardownIT {
    private static final Map<String, String> SECOND_PLATFORM = Map.of(
            "EMASPARK_CLUSTER_NAME", "emt",
            "EMASPARK_CLUSTER_NET", "10.78.0",
            "EMASPARK_CLUSTER_MASTER_PORT", "7177",
            "EMASPARK_CLUSTER_UI_PORT", "8180",
            "EMASPARK_CLUSTER_DIR", SparkSubmitRun.JOBS.resolve("target/cluster-teardown").toString());

    @Test
    void aDeadOwnerLeavesNoNamespaceLinkOrProcessBehind() throws Exception {
        Process owner = new ProcessBuilder("sleep", "600").start();
        try {
            Result start = run(List.of("cluster-start", "--workers", "1", "--owner", String.valueOf(owner.pid())));
            if (start.exit() == 3) {
                System.err.println("teardown test skipped: " + start.output().strip());
            }
            assumeTrue(start.exit() != 3, "teardown test skipped: " + start.output());
            assertEquals(0, start.exit(), start.output());
            assertTrue(ours().contains("emtw1"), "the namespace exists while its owner lives: " + ours());
        } finally {
            owner.destroyForcibly().waitFor();
        }
        long deadline = System.currentTimeMillis() + 30_000;
        while (!ours().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(250);
        }
        assertEquals("", ours(), "left behind after the owner died");
    }

    /** Namespaces, links and processes of the second platform. */
    private static String ours() throws IOException, InterruptedException {
        String dir = SECOND_PLATFORM.get("EMASPARK_CLUSTER_DIR");
        return run(List.of("bash", "-c", "{ ip netns list | grep -oE '^emtw[0-9]+'; ip -o link show | grep -oE 'emt(br|v)[0-9]+'; "
                + "pgrep -af -- '" + dir + "' | grep -v pgrep; } 2>/dev/null | sort -u | paste -sd' '"), false).output().strip();
    }

    private record Result(int exit, String output) {}

    private static Result run(List<String> script) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(script);
        command.set(0, SparkSubmitRun.JOBS.resolve("bin/" + script.get(0)).toString());
        return run(command, true);
    }

    private static Result run(List<String> command, boolean platformEnv) throws IOException, InterruptedException {
        Path log = Files.createTempFile("teardown", ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        if (platformEnv) {
            builder.environment().putAll(SECOND_PLATFORM);
        }
        Process process = builder.start();
        if (!process.waitFor(3, TimeUnit.MINUTES)) {
            process.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        return new Result(process.exitValue(), output);
    }
}
