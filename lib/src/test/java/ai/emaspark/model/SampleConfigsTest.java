package ai.emaspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.emaspark.config.Config;
import ai.emaspark.config.ConfigException;
import ai.emaspark.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The configs in conf/ load, validate, and build the models their comments describe (pycls's figures). */
class SampleConfigsTest {
    private static final Path CONF = Path.of("").toAbsolutePath().getParent().resolve("conf");

    private static Config load(String name) throws Exception {
        return ConfigLoader.load(Files.readString(CONF.resolve(name)), name,
            List.of("TRAIN.DATASET", "hdfs://nn:8020/data/imagenet-prepared", "OUT_DIR", "hdfs://nn:8020/runs/x"));
    }

    @Test
    void resNet50() throws Exception {
        Complexity cx = Models.complexity(ModelSpec.of(load("resnet50_imagenet.yaml")));
        assertEquals(25_557_032L, cx.params());
        assertEquals(4_089_185_256L, cx.flops(), "pycls complexity(), checked against pycls in PyclsParityTest");
    }

    @Test
    void deeperResNetsHaveTheirKnownSizes() throws Exception {
        // Same layers as torchvision's resnet101 / resnet152 (stride placement does not change counts).
        assertEquals(44_549_160L, Models.complexity(ModelSpec.of(load("resnet50_imagenet.yaml").with("MODEL.DEPTH", 101))).params());
        assertEquals(60_192_808L, Models.complexity(ModelSpec.of(load("resnet50_imagenet.yaml").with("MODEL.DEPTH", 152))).params());
    }

    @Test
    void regNetY16Gf() throws Exception {
        Complexity cx = Models.complexity(ModelSpec.of(load("regnety_1.6gf_imagenet.yaml")));
        assertEquals(11_202_430L, cx.params());
        assertEquals(1_612_087_326L, cx.flops());
    }

    @Test
    void quickstart() throws Exception {
        Complexity cx = Models.complexity(ModelSpec.of(load("quickstart.yaml")));
        assertEquals(272_474L, cx.params(), "ResNet-20, 10 classes");
    }

    @Test
    void unsupportedModelKeysFailWithOneLine() {
        Executable[] bad = {
            () -> ConfigLoader.load("MODEL:\n  TYPE: effnet\n", "x.yaml", List.of("TRAIN.DATASET", "d")),
            () -> ConfigLoader.load("MODEL:\n  DEPTH: 34\n", "x.yaml", List.of("TRAIN.DATASET", "d")),
            () -> ConfigLoader.load("MODEL:\n  TYPE: anynet\nANYNET:\n  DEPTHS: [1, 2]\n  WIDTHS: [8]\n", "x.yaml",
                List.of("TRAIN.DATASET", "d")),
            () -> ConfigLoader.load("MODEL:\n  TYPE: regnet\nREGNET:\n  W0: 30\n", "x.yaml", List.of("TRAIN.DATASET", "d")),
            () -> ConfigLoader.load("MODEL:\n  ACTIVATION_FUN: gelu\n", "x.yaml", List.of("TRAIN.DATASET", "d")),
        };
        for (Executable e : bad) {
            ConfigException error = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, e);
            assertEquals(1, error.getMessage().lines().count(), error.getMessage());
        }
    }
}
