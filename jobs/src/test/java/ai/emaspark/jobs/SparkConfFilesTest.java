package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.spark.ClusterSettings;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.internal.config.ConfigEntry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every key of the Spark properties files in conf/ is one Spark 4.2 knows (its registered config
 * entries, core, YARN and Kubernetes), one of its documented families (resources, executor
 * environment, Hadoop settings) or one of the job's own spark.emaspark.* keys. A misspelt key is
 * silently ignored by Spark; here it fails the build.
 */
class SparkConfFilesTest {
    /** Families Spark documents by pattern rather than registering each key. */
    private static final Pattern FAMILIES = Pattern.compile(
            "spark\\.(executor|driver|worker)\\.resource\\.\\w+\\.(amount|discoveryScript|vendor)"
                    + "|spark\\.task\\.resource\\.\\w+\\.amount|spark\\.executorEnv\\..+|spark\\.yarn\\.appMasterEnv\\..+"
                    + "|spark\\.hadoop\\..+|spark\\.master");
    private static final Set<String> OURS = Set.of(ClusterSettings.RING_INTERFACE, ClusterSettings.RING_TIMEOUT, ClusterSettings.RING_BLOCK_MACS,
            ClusterSettings.CRYPTO,
            ClusterSettings.EMA_BIND_ADDRESS, ClusterSettings.EMA_HOST, ClusterSettings.EMA_PORT, ClusterSettings.SLOTS_TIMEOUT);

    @BeforeAll
    static void loadSparksConfigEntries() throws Exception {
        // Entries register when the objects declaring them load: load every one of them.
        for (String holder : List.of("org.apache.spark.internal.config.package$", "org.apache.spark.deploy.yarn.config.package$",
                "org.apache.spark.deploy.k8s.Config$")) {
            Class<?> anchor = Class.forName(holder);
            String folder = holder.substring(0, holder.lastIndexOf('.')).replace('.', '/') + "/";
            try (JarFile jar = new JarFile(anchor.getProtectionDomain().getCodeSource().getLocation().getPath())) {
                for (String name : jar.stream().map(e -> e.getName()).filter(n -> n.startsWith(folder) && n.endsWith("$.class")
                        && n.indexOf('/', folder.length()) < 0).toList()) {
                    Class.forName(name.replace('/', '.').substring(0, name.length() - 6), true, anchor.getClassLoader());
                }
            }
        }
    }

    @Test
    void everyKeyIsOneSparkOrTheJobKnows() throws IOException {
        List<String> unknown = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> list = Files.list(SparkSubmitRun.ROOT.resolve("conf"))) {
            files = list.filter(p -> p.getFileName().toString().startsWith("spark-") && p.toString().endsWith(".conf")).sorted().toList();
        }
        assertTrue(files.size() >= 4, "conf/ has the local, cluster, YARN and Kubernetes files: " + files);
        for (Path file : files) {
            Properties properties = new Properties();
            try (Reader reader = Files.newBufferedReader(file)) {
                properties.load(reader);
            }
            for (String key : properties.stringPropertyNames()) {
                boolean known = ConfigEntry.findEntry(key) != null || FAMILIES.matcher(key).matches() || OURS.contains(key);
                if (!known) {
                    unknown.add(file.getFileName() + ": " + key);
                }
            }
        }
        assertEquals(List.of(), unknown, "keys Spark 4.2 does not know");
    }

    @Test
    void theCheckHasTeeth() {
        assertTrue(ConfigEntry.findEntry("spark.network.timeout") != null);
        assertTrue(ConfigEntry.findEntry("spark.yarn.am.memory") != null, "YARN's entries are loaded");
        assertTrue(ConfigEntry.findEntry("spark.kubernetes.container.image") != null, "Kubernetes' entries are loaded");
        assertTrue(ConfigEntry.findEntry("spark.executor.memoryOverHead") == null, "case matters");
    }
}
