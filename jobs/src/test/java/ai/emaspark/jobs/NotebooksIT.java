package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.checkpoint.CheckpointStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a user does in Python with a finished run, on the shared fault-free 3-epoch run: the notebooks
 * in notebooks/ executed by papermill over WebHDFS (executed .ipynb and PNG figures into
 * target/it/notebooks/), and a checkpoint exported to pycls's .pyth format and read back by pycls's
 * own loader (jobs/src/test/python/export_to_pycls.py). Python is the project's venv (jobs/bin/py-venv
 * jobs/bench), installed on first use.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(ItPlatform.Resolver.class)
class NotebooksIT {
    private static final Path NOTEBOOKS = SparkSubmitRun.ROOT.resolve("notebooks");
    private static final long TIMEOUT_MINUTES = 20;

    private ItPlatform platform;
    private Path output;
    private String python;

    @BeforeAll
    void setUp(ItPlatform platform) throws Exception {
        this.platform = platform;
        output = platform.work.resolve("notebooks");
        ItPlatform.deleteRecursively(output);
        Files.createDirectories(output);
        python = PythonVenv.python("jobs/bench", platform.work.resolve("logs/bench-venv.log"));
    }

    @Test
    void trainingCurvesNotebookPlotsTheRunEveryEmaAndThePostHocSweep() throws Exception {
        platform.postHocSweep(); // the reconstructions the sweep figure plots
        JsonNode executed = runNotebook("training_curves.ipynb");
        assertNoErrorOutputs(executed, "training_curves.ipynb");
        for (String figure : List.of("errors_per_epoch.png", "loss_lr_per_epoch.png", "loss_lr_per_iter.png", "posthoc_sweep.png")) {
            Path png = output.resolve(figure);
            assertTrue(Files.isRegularFile(png) && Files.size(png) > 1000, "missing figure " + png);
        }
        String text = streamText(executed);
        assertTrue(text.contains("power EMAs: p0.100, p0.250"), text);
        assertTrue(text.contains("best top-1 error of power EMA p0.250: "), "best/ checked for each power EMA: " + text);
        assertTrue(text.contains("post-hoc sweep: 5 widths from 0.050 to 0.250"), text);
    }

    @Test
    void emaLoadsIntoPyclsAndItsTop1ErrorIsMetaJsons() throws Exception {
        JsonNode executed = runNotebook("load_ema_in_pytorch.ipynb", "-p", "dataset", hdfsPath(platform.dataset));
        assertNoErrorOutputs(executed, "load_ema_in_pytorch.ipynb");
        assertTrue(Files.size(output.resolve("ema_predictions.png")) > 1000, "missing ema_predictions.png");
        // The notebook asserts the equality and prints what it compared; checked again here against meta.json
        // as the job's own reader sees it (the notebook's default checkpoint is the newest committed one).
        String check = streamText(executed).lines().filter(l -> l.startsWith("EMA_TOP1_CHECK")).findFirst().orElse("");
        System.out.println("NotebooksIT: " + check);
        Matcher values = Pattern.compile("EMA_TOP1_CHECK (\\S+) pytorch=(\\S+) meta=(\\S+) images=(\\d+) equal=True").matcher(check);
        assertTrue(values.matches(), "the notebook did not report the EMA top-1 check: " + check);
        List<org.apache.hadoop.fs.Path> committed = platform.store(platform.reference().outDir()).committed();
        org.apache.hadoop.fs.Path newest = committed.get(committed.size() - 1);
        assertEquals(newest.getName(), values.group(1));
        JsonNode meta;
        try (InputStream in = platform.fs.open(new org.apache.hadoop.fs.Path(newest, CheckpointStore.META))) {
            meta = new ObjectMapper().readTree(in);
        }
        assertEquals(meta.path("ema_err").asDouble(), Double.parseDouble(values.group(2)), 0.0,
                "EMA top-1 error recomputed in PyTorch vs meta.json");
        assertTrue(streamText(executed).contains("ALL_CHECKPOINTS_CHECK"), "the every-checkpoint check did not run");
    }

    @Test
    void exportedCheckpointLoadsWithPyclsLoadCheckpoint() throws Exception {
        Path script = SparkSubmitRun.JOBS.resolve("src/test/python/export_to_pycls.py");
        String log = run(output.resolve("export_to_pycls.log"), python, script.toString(),
                "--webhdfs", platform.webHdfs, "--out-dir", hdfsPath(platform.reference().outDir()),
                "--work", output.resolve("export").toString());
        assertTrue(log.contains("EXPORT_CHECK ok"), log);
    }

    /** Executes notebooks/NAME with papermill into target/it/notebooks/NAME (figures beside it); returns the executed notebook. */
    private JsonNode runNotebook(String name, String... moreParameters) throws Exception {
        Path executed = output.resolve(name);
        List<String> command = new ArrayList<>(List.of(python, "-m", "papermill",
                NOTEBOOKS.resolve(name).toString(), executed.toString(),
                "--cwd", NOTEBOOKS.toString(), // where emaspark_io.py is importable from
                "--kernel", "python3", "--log-output",
                "-p", "webhdfs", platform.webHdfs,
                "-p", "out_dir", hdfsPath(platform.reference().outDir()),
                "-p", "figures_dir", output.toString()));
        command.addAll(List.of(moreParameters));
        run(output.resolve(name.replace(".ipynb", ".log")), command.toArray(String[]::new));
        return new ObjectMapper().readTree(executed.toFile());
    }

    private static void assertNoErrorOutputs(JsonNode notebook, String name) {
        for (JsonNode cell : notebook.path("cells")) {
            for (JsonNode out : cell.path("outputs")) {
                assertTrue(!"error".equals(out.path("output_type").asText()),
                        () -> name + " has an error output: " + out.path("ename").asText() + ": " + out.path("evalue").asText());
            }
        }
    }

    /** Everything the notebook's cells printed. */
    private static String streamText(JsonNode notebook) {
        StringBuilder text = new StringBuilder();
        for (JsonNode cell : notebook.path("cells")) {
            for (JsonNode out : cell.path("outputs")) {
                if ("stream".equals(out.path("output_type").asText())) {
                    out.path("text").forEach(line -> text.append(line.asText()));
                    if (out.path("text").isTextual()) {
                        text.append(out.path("text").asText());
                    }
                }
            }
        }
        return text.toString();
    }

    /** The path of an hdfs:// URI, which is what WebHDFS readers take. */
    private static String hdfsPath(String uri) {
        return URI.create(uri).getPath();
    }

    /** Runs a command to completion with its output in log; fails on a non-zero exit. Returns the output. */
    private static String run(Path log, String... command) throws IOException, InterruptedException {
        long start = System.nanoTime();
        Process process = new ProcessBuilder(new ArrayList<>(List.of(command))).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        boolean finished = process.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES);
        if (!finished) {
            process.destroyForcibly();
        }
        String output = Files.readString(log);
        assertTrue(finished && process.exitValue() == 0, () -> String.join(" ", command) + " failed; see " + log + ":\n"
                + output.substring(Math.max(0, output.length() - 4000)));
        System.out.printf("NotebooksIT: %s took %.0f s%n", log.getFileName(), (System.nanoTime() - start) / 1e9);
        return output;
    }
}
