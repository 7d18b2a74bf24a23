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
final class PyTorchPeer {
    private static final Path PROJECT = Path.of("").toAbsolutePath().getParent();
    private static String python;

    private PyTorchPeer() {
    }

    static synchronized String python() throws IOException, InterruptedException {
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
        Process process = new ProcessBuilder(List.of(python(), script.toString(), caseDir.toString()))
            .redirectErrorStream(true).start();
        String log = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(10, TimeUnit.MINUTES) || process.exitValue() != 0) {
            throw new AssertionError("pycls_parity.py failed:\n" + log);
        }
        return new ObjectMapper().readTree(Files.readAllBytes(caseDir.resolve("result.json")));
    }
}
