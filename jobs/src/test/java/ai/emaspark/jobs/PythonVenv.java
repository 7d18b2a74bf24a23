package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The project's cached Python venvs for the tests that run real Python peers (Airflow, the
 * notebooks): {@code jobs/bin/py-venv FOLDER} installs one on first use (minutes) and then reuses it.
 */
final class PythonVenv {
    private PythonVenv() {}

    /** The venv's python for the requirements in {@code folder} (e.g. "jobs/airflow"); the install's output goes to {@code log}. */
    static String python(String folder, Path log) throws IOException, InterruptedException {
        Files.createDirectories(log.getParent());
        Process venv = new ProcessBuilder(SparkSubmitRun.JOBS.resolve("bin/py-venv").toString(), folder)
                .redirectError(log.toFile()).start();
        String out = new String(venv.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(venv.waitFor(20, TimeUnit.MINUTES), "py-venv " + folder + " did not finish; see " + log);
        assertEquals(0, venv.exitValue(), () -> "py-venv " + folder + " failed; see " + log);
        return out.substring(out.lastIndexOf('\n') + 1);
    }
}
