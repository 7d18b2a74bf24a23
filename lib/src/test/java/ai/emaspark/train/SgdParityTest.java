package ai.emaspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.emaspark.checkpoint.SafetensorsCodec;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.PyTorchPeer;
import ai.emaspark.model.PyclsInit;
import ai.emaspark.model.StateLayout;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fused CPU update ({@link FusedSgd}) against torch.optim.SGD itself, bit for bit over four steps
 * (Nesterov, per-tensor weight decay as pycls sets it, a changing lr), and against the NDArray path a
 * GPU runs.
 */
class SgdParityTest {
    private static final ModelSpec SPEC = new ModelSpec("resnet", 8, 4, 1e-5, 0.1, false, 16);
    private static final SgdSettings SETTINGS = new SgdSettings(0.9, 0, true, 5e-4, 0);
    private static final double[] LRS = {0.1, 0.1, 0.05, 0.2};

    @Test
    void fusedUpdateGivesTorchsBits(@TempDir Path dir) throws Exception {
        try (Replica replica = new Replica(SPEC, SETTINGS, Device.cpu())) {
            StateLayout layout = replica.tensors().layout();
            ModelState start = PyclsInit.initialize(layout, 5, false);
            replica.load(start);
            write(dir.resolve("weights.safetensors"), layout, ReplicaTest.trainableWeights(start, layout));
            for (int k = 0; k < LRS.length; k++) {
                float[] g = ReplicaTest.randomGradients(layout, k);
                write(dir.resolve("grads_" + k + ".safetensors"), layout, g);
                replica.step(g, LRS[k]);
            }
            writeCase(dir, layout);
            runTorch(dir);
            float[] weights = read(dir.resolve("weights_after.safetensors"), layout);
            float[] momentum = read(dir.resolve("momentum_after.safetensors"), layout);
            assertBits(weights, ReplicaTest.trainableWeights(replica.read(), layout), "weight");
            assertBits(momentum, replica.optimizerState().momentum(), "momentum");
        }
    }

    @Test
    void fusedAndNdArrayPathsAgree() {
        try (Replica fused = new Replica(SPEC, SETTINGS, Device.cpu());
                Replica other = new Replica(SPEC, SETTINGS, Device.cpu());
                NDManager manager = Engine.getEngine("PyTorch").newBaseManager(Device.cpu());
                Sgd ndArrays = new Sgd(SETTINGS, other.tensors(), manager, false)) {
            StateLayout layout = fused.tensors().layout();
            ModelState start = PyclsInit.initialize(layout, 6, false);
            fused.load(start);
            other.load(start);
            for (int k = 0; k < LRS.length; k++) {
                float[] g = ReplicaTest.randomGradients(layout, 10 + k);
                fused.step(g, LRS[k]);
                ndArrays.step(g, LRS[k]);
            }
            float[] a = ReplicaTest.trainableWeights(fused.read(), layout);
            float[] b = ReplicaTest.trainableWeights(other.read(), layout);
            float[] s = ReplicaTest.trainableWeights(start, layout);
            int moved = 0;
            for (int i = 0; i < a.length; i++) {
                // The NDArray path rounds the weight decay's product and the step's separately: a few ulps apart.
                assertEquals(b[i], a[i], 1e-6 * Math.max(1, Math.abs(b[i])), "weight " + i);
                moved += a[i] != s[i] ? 1 : 0;
            }
            assertTrue(moved > a.length * 0.99, "the update moved the weights: " + moved + " of " + a.length);
        }
    }

    private static void assertBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length);
        int differ = 0;
        int first = -1;
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                differ++;
                first = first < 0 ? i : first;
            }
        }
        assertEquals(0, differ, differ + " of " + expected.length + " " + what + " values differ from torch.optim.SGD's"
                + (first < 0 ? "" : "; the first, " + first + ": torch " + expected[first] + ", ours " + actual[first]));
    }

    private static void writeCase(Path dir, StateLayout layout) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.put("momentum", SETTINGS.momentum()).put("dampening", SETTINGS.dampening()).put("nesterov", SETTINGS.nesterov());
        c.putArray("lrs").addAll(List.of(json.valueToTree(LRS[0]), json.valueToTree(LRS[1]), json.valueToTree(LRS[2]),
                json.valueToTree(LRS[3])));
        ObjectNode decay = c.putObject("weight_decay");
        for (int i = 0; i < layout.tensors().size(); i++) {
            if (layout.gradientOffset(i) >= 0) {
                decay.put(layout.tensor(i).name(), SETTINGS.weightDecayOf(layout.tensor(i).name()));
            }
        }
        Files.writeString(dir.resolve("case.json"), json.writeValueAsString(c));
    }

    private static void runTorch(Path dir) throws Exception {
        Path script = Path.of("").toAbsolutePath().getParent().resolve("lib/src/test/python/sgd_parity.py");
        Path log = dir.resolve("sgd_parity.log");
        Process process = new ProcessBuilder(PyTorchPeer.python(), script.toString(), dir.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        boolean ended = process.waitFor(5, TimeUnit.MINUTES);
        if (!ended) {
            process.destroyForcibly().waitFor();
        }
        assertTrue(ended && process.exitValue() == 0, "sgd_parity.py failed:\n" + Files.readString(log));
    }

    /** Gradient-layout values as an optimizer file names them (NAME.momentum_buffer), which sgd_parity.py reads. */
    private static void write(Path file, StateLayout layout, float[] values) throws Exception {
        try (OutputStream out = Files.newOutputStream(file)) {
            SafetensorsCodec.writeMomentum(out, layout, values);
        }
    }

    private static float[] read(Path file, StateLayout layout) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return SafetensorsCodec.readMomentum(in, layout, file.toString());
        }
    }
}
