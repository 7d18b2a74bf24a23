package ai.emaspark.jobs;

import ai.emaspark.config.Config;
import ai.emaspark.config.ConfigException;
import ai.emaspark.config.ConfigKey;
import ai.emaspark.config.ConfigLoader;
import ai.emaspark.config.ConfigSchema;
import ai.emaspark.data.DatasetException;
import ai.emaspark.spark.RunFailedException;
import ai.emaspark.spark.TrainDriver;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * spark-submit entry point: {@code Train --cfg FILE [KEY VALUE ...]}, pycls's command line. Bad
 * input ends here with one line on stderr and exit code 2, before any Spark stage starts.
 */
public final class Train {
    private Train() {}

    public static void main(String[] args) {
        Config cfg;
        TrainDriver driver;
        try {
            cfg = parse(args);
            driver = TrainDriver.prepare(cfg);
        } catch (ConfigException | DatasetException | RunFailedException e) {
            fail(e.getMessage());
            return;
        } catch (ConnectException e) {
            fail("cannot reach the file system of TRAIN.DATASET or OUT_DIR: " + e.getMessage());
            return;
        } catch (IOException e) {
            fail("cannot read the dataset or OUT_DIR: " + e);
            return;
        }
        try (driver) {
            driver.run();
        } catch (RunFailedException e) {
            System.err.println("emaspark: error: " + e.getMessage());
            System.exit(1);
        } catch (IOException e) {
            throw new IllegalStateException("training failed: " + e.getMessage(), e);
        }
    }

    static Config parse(String[] args) throws IOException {
        List<String> overrides = new ArrayList<>();
        String cfgFile = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--help") || args[i].equals("-h")) {
                System.out.println(usage());
                System.exit(0);
            } else if (args[i].equals("--cfg")) {
                if (i + 1 == args.length) {
                    throw new ConfigException("--cfg needs a file: --cfg conf/quickstart.yaml");
                }
                cfgFile = args[++i];
            } else {
                overrides.add(args[i]);
            }
        }
        String yaml = "";
        if (cfgFile != null) {
            try {
                yaml = Files.readString(Path.of(cfgFile), StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                throw new ConfigException("config file " + cfgFile + " does not exist");
            }
        }
        return ConfigLoader.load(yaml, cfgFile == null ? "(no file)" : cfgFile, overrides);
    }

    private static String usage() {
        StringBuilder text = new StringBuilder("usage: Train --cfg FILE [KEY VALUE ...]   (pycls keys; overrides win)\n\nkeys:\n");
        for (ConfigKey key : ConfigSchema.keys()) {
            text.append(String.format("  %-28s %-8s default %-14s %s%n", key.name(), key.type().name().toLowerCase(),
                    key.defaultValue(), key.help()));
        }
        return text.toString();
    }

    private static void fail(String message) {
        System.err.println("emaspark: error: " + message);
        System.exit(2);
    }
}
