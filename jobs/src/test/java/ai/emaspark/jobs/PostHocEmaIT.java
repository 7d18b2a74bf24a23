package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.checkpoint.PostHocStore;
import ai.emaspark.model.ModelState;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Post-hoc EMA through spark-submit on the shared reference run, whose conf/quickstart.yaml keeps two
 * power EMAs (sigma_rel 0.10 and 0.25) and stores them after every epoch: a sweep reconstructs each
 * width at the run's last t, the tracked widths come back as their stored states, each is tested
 * after precise BN, and each reconstruction is a folder any checkpoint reader reads (with its error in
 * meta.json: what Predict and ImageClassifier report, ClassifierModelTest).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(ItPlatform.Resolver.class)
class PostHocEmaIT {
    private static final Pattern ROW = Pattern.compile("(?m)^(\\d\\.\\d{3})\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(\\d+\\.\\d{3})\\s+(\\S+)$");

    @Test
    void aSweepOfWidthsIsReconstructedTestedAndWrittenAndTheTrackedOnesAreTheirStoredStates(ItPlatform platform) throws Exception {
        ItPlatform.Reference reference = platform.reference();
        Path outDir = new Path(reference.outDir());
        PostHocStore store = new PostHocStore(platform.fs, outDir);
        List<PostHocStore.Stored> stored = store.list();
        assertEquals(2 * ItPlatform.EPOCHS, stored.size(), "two power EMAs stored after each epoch: " + stored);

        String output = platform.postHocSweep();
        System.out.println(output.lines().filter(l -> l.startsWith("post-hoc") || l.startsWith("sigma_rel") || ROW.matcher(l).matches())
                .reduce("post-hoc EMA of the reference run:", (a, b) -> a + "\n" + b));
        List<String[]> rows = new ArrayList<>();
        Matcher m = ROW.matcher(output);
        while (m.find()) {
            rows.add(new String[] {m.group(1), m.group(3), m.group(5), m.group(6)});
        }
        assertEquals(List.of("0.050", "0.100", "0.150", "0.200", "0.250"), rows.stream().map(r -> r[0]).toList(), output);

        long lastT = stored.stream().mapToLong(PostHocStore.Stored::updates).max().orElseThrow();
        for (String tracked : List.of("0.100", "0.250")) {
            PostHocStore.Stored last = stored.stream().filter(s -> s.name().equals("p" + tracked) && s.updates() == lastT)
                    .findFirst().orElseThrow();
            Path folder = new Path(store.directory(), "reconstructed_r" + tracked);
            // read as any checkpoint's EMA entry is
            ModelState rebuilt = platform.store(reference.outDir()).loadState(folder, CheckpointStore.EMA, platform.layout);
            float[] expected = EmaReplay.withoutBnStatistics(store.load(last, platform.layout));
            float[] actual = EmaReplay.withoutBnStatistics(rebuilt); // precise BN replaced only the BN statistics
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < expected.length; i++) {
                diff += (expected[i] - actual[i]) * (double) (expected[i] - actual[i]);
                norm += expected[i] * (double) expected[i];
            }
            assertTrue(Math.sqrt(diff / norm) <= 1e-5, "sigma_rel " + tracked + " rebuilds its stored state: relative error "
                    + Math.sqrt(diff / norm));
            JsonNode meta = new ObjectMapper().readTree(platform.fs.open(new Path(folder, CheckpointStore.META)));
            assertEquals(lastT, meta.path("posthoc").path("updates").asLong());
            // pycls's fields too, so Predict and ImageClassifier report it as any EMA entry
            assertEquals(ItPlatform.EPOCHS - 1, meta.path("ema_epoch").asInt());
            assertEquals(meta.path("posthoc").path("ema_err").asDouble(), meta.path("ema_err").asDouble(), 0.0);
            String row = rows.stream().filter(r -> r[0].equals(tracked)).findFirst().orElseThrow()[2];
            assertEquals(Double.parseDouble(row), meta.path("posthoc").path("ema_err").asDouble(), 0.0005, "the printed error is the stored one");
        }
        for (String[] row : rows) {
            double sigmaRel = Double.parseDouble(row[0]);
            boolean tracked = sigmaRel >= 0.10 && sigmaRel <= 0.25;
            // between the tracked widths the stored profiles combine closely; outside they are extrapolated and the tool says so
            assertTrue(!tracked || Double.parseDouble(row[1]) < 0.05, "profile error of sigma_rel " + row[0] + ": " + row[1]);
            assertEquals(!tracked, output.contains("sigma_rel " + row[0] + " is outside the tracked widths 0.100 to 0.250"), output);
            assertTrue(row[3].endsWith("/posthoc/reconstructed_r" + row[0]), row[3]);
        }
    }
}
