package ai.emaspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs lib/src/test/python/pycls_parity.py in the project's cached Python venv (jobs/bin/bench-venv:
 * PyTorch from PyPI and pycls 0.1.1, installed on first use, ~3 GB, a few minutes).
 */
public final class PyTorchPeer {
    private static final Path PROJECT = Path.of("").toAbsolutePath().getParent();
    private static String python;

    private PyTorchPeer() {
    }

    public static synchronized String python() throws IOException, InterruptedException {
        if (python == null) {
            Path script = PROJECT.resolve("jobs/bin/bench-venv");
            Process process = new ProcessBuilder("bash", script.toString()).redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertEquals(0, process.waitFor(), "jobs/bin/bench-venv failed");
            String[] lines = out.split("\n");
            python = lines[lines.length - 1];
        }
        return python;
    }

    /** Runs the reference on caseDir (case.json + safetensors inputs) and returns result.json. */
    static JsonNode run(Path caseDir) throws IOException, InterruptedException {
        Path script = PROJECT.resolve("lib/src/test/python/pycls_parity.py");
        Path logFile = caseDir.resolve("pycls_parity.log"); // a file, so that the timeout below can fire
        Process process = new ProcessBuilder(List.of(python(), script.toString(), caseDir.toString()))
            .redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
        boolean ended = process.waitFor(10, TimeUnit.MINUTES);
        if (!ended) {
            process.destroyForcibly().waitFor();
        }
        if (!ended || process.exitValue() != 0) {
            throw new AssertionError("pycls_parity.py " + (ended ? "failed" : "took over 10 minutes") + ":\n"
                + Files.readString(logFile));
        }
        return new ObjectMapper().readTree(Files.readAllBytes(caseDir.resolve("result.json")));
    }
}
