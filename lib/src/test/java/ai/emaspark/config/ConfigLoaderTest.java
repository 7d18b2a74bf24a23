package ai.emaspark.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
    private static final List<String> REQUIRED = List.of("TRAIN.DATASET", "hdfs://nn:8020/data/imagenet", "OUT_DIR", "hdfs://nn:8020/runs/r");

    private static Config load(String yaml, String... overrides) {
        List<String> all = new java.util.ArrayList<>(REQUIRED);
        all.addAll(List.of(overrides));
        return ConfigLoader.load(yaml, "test.yaml", all);
    }

    @Test
    void defaultsArePyclss() {
        Config cfg = load("");
        assertEquals(1e-5, cfg.getFloat("OPTIM.EMA_ALPHA"));
        assertEquals(32, cfg.getInt("OPTIM.EMA_UPDATE_PERIOD"));
        assertEquals(128, cfg.getInt("TRAIN.BATCH_SIZE"));
        assertEquals(200, cfg.getInt("OPTIM.MAX_EPOCH"));
        assertTrue(cfg.getBool("OPTIM.NESTEROV"));
        assertEquals("cos", cfg.getString("OPTIM.LR_POLICY"));
    }

    @Test
    void nestedYamlThenOverridesWin() {
        Config cfg = load("OPTIM:\n  BASE_LR: 0.4\n  MAX_EPOCH: 100\n  WEIGHT_DECAY: 5e-5\n  NESTEROV: False\nTRAIN:\n  BATCH_SIZE: 1024\n",
                "OPTIM.MAX_EPOCH", "3", "OUT_DIR", "hdfs://nn:8020/runs/a");
        assertEquals(0.4, cfg.getFloat("OPTIM.BASE_LR"));
        assertEquals(3, cfg.getInt("OPTIM.MAX_EPOCH"));
        assertEquals(5e-5, cfg.getFloat("OPTIM.WEIGHT_DECAY"), "YAML 1.1 reads 5e-5 as a string; yacs evaluates it");
        assertFalse(cfg.getBool("OPTIM.NESTEROV"));
        assertEquals(1024, cfg.getInt("TRAIN.BATCH_SIZE"));
        assertEquals("hdfs://nn:8020/runs/a", cfg.getString("OUT_DIR"));
    }

    @Test
    void listsAndIntegersWhereFloatsAreExpected() {
        Config cfg = load("OPTIM:\n  LR_POLICY: steps\n  STEPS: [0, 30, 60]\n  BASE_LR: 1\n");
        assertEquals(List.of(0.0, 30.0, 60.0), cfg.getFloatList("OPTIM.STEPS"));
        assertEquals(1.0, cfg.getFloat("OPTIM.BASE_LR"));
        Config fromCommandLine = load("", "OPTIM.LR_POLICY", "steps", "OPTIM.STEPS", "[0, 10]");
        assertEquals(List.of(0.0, 10.0), fromCommandLine.getFloatList("OPTIM.STEPS"));
    }

    @Test
    void unknownKeyNamesTheNearestKnownOne() {
        ConfigException e = assertThrows(ConfigException.class, () -> load("", "OPTIM.BASE_LRR", "0.1"));
        assertEquals("unknown config key OPTIM.BASE_LRR on the command line (did you mean OPTIM.BASE_LR?)", e.getMessage());
        ConfigException inFile = assertThrows(ConfigException.class, () -> load("OPTIM:\n  EMA_ALPA: 0.1\n"));
        assertEquals("unknown config key OPTIM.EMA_ALPA in test.yaml (did you mean OPTIM.EMA_ALPHA?)", inFile.getMessage());
    }

    @Test
    void wrongTypeNamesKeyTypeAndValue() {
        ConfigException e = assertThrows(ConfigException.class, () -> load("", "OPTIM.MAX_EPOCH", "three"));
        assertEquals("config key OPTIM.MAX_EPOCH expects an integer, got 'three' (default: 200)", e.getMessage());
        assertThrows(ConfigException.class, () -> load("", "OPTIM.MAX_EPOCH", "2.5"));
        assertThrows(ConfigException.class, () -> load("", "OPTIM.NESTEROV", "maybe"));
        assertThrows(ConfigException.class, () -> load("", "OPTIM.STEPS", "[0, x]"));
    }

    @Test
    void powerEmaWidthsAreCheckedInOneLine() {
        assertEquals(List.of(0.05, 0.1), load("EMA:\n  POWER_SIGMA_RELS: [0.05, 0.10]\n").getFloatList("EMA.POWER_SIGMA_RELS"));
        assertEquals(List.of(), load("").getFloatList("EMA.POWER_SIGMA_RELS"), "none unless asked for");
        assertEquals("EMA.POWER_SIGMA_RELS [0.05, 0.3]: 0.3 is not in (0, 0.2887]; use relative widths such as 0.05 or 0.10 "
                + "(wider would weigh early weights most)",
                assertThrows(ConfigException.class, () -> load("", "EMA.POWER_SIGMA_RELS", "[0.05, 0.3]")).getMessage());
        assertEquals("EMA.POWER_SIGMA_RELS [0.05, 0.0501] gives 0.050 twice (widths are named to 3 decimals)",
                assertThrows(ConfigException.class, () -> load("", "EMA.POWER_SIGMA_RELS", "[0.05, 0.0501]")).getMessage());
    }

    @Test
    void crossChecks() {
        assertEquals("TRAIN.BATCH_SIZE 100 is not a multiple of NUM_GPUS 8 (it is the total over all replicas)",
                assertThrows(ConfigException.class, () -> load("", "NUM_GPUS", "8", "TRAIN.BATCH_SIZE", "100")).getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> ConfigLoader.load("", "x", List.of())).getMessage()
                .startsWith("TRAIN.DATASET is not set"));
        assertEquals("OUT_DIR is not set: give this run's own output directory, e.g. OUT_DIR hdfs://namenode:8020/runs/r50",
                assertThrows(ConfigException.class, () -> ConfigLoader.load("", "x", List.of("TRAIN.DATASET", "/d"))).getMessage(),
                "no /tmp default: every run names its own OUT_DIR");
        assertTrue(assertThrows(ConfigException.class, () -> load("", "MODEL.DEPTH", "21")).getMessage()
                .contains("6n+2"));
        assertTrue(assertThrows(ConfigException.class, () -> load("", "OPTIM.LR_POLICY", "exp")).getMessage()
                .contains("MIN_LR"));
    }

    @Test
    void oddOverridesAndBadYaml() {
        assertTrue(assertThrows(ConfigException.class, () -> load("", "OUT_DIR")).getMessage().contains("KEY VALUE"));
        assertTrue(assertThrows(ConfigException.class, () -> load("OPTIM: [unclosed")).getMessage()
                .startsWith("config file test.yaml is not valid YAML"));
    }

    @Test
    void resolvedConfigDumpsAsNestedYamlAndReadsBack() {
        Config cfg = load("", "OPTIM.BASE_LR", "0.8", "OPTIM.STEPS", "[0, 5]");
        String yaml = cfg.toYaml();
        assertTrue(yaml.contains("OPTIM:"), yaml);
        assertEquals(cfg, ConfigLoader.load(yaml, "dump", List.of()));
    }
}
