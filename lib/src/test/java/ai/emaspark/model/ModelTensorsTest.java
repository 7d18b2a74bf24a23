package ai.emaspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Names, order and size of pycls's CIFAR-style ResNet-20 as built in DJL. */
class ModelTensorsTest {
    static final ModelSpec RESNET20 = new ModelSpec("resnet", 20, 10, 1e-5, 0.1, false, 32);

    @Test
    void stateKeysArePyclssStateDictKeysInOrder() {
        try (Replica replica = new Replica(RESNET20, new SgdSettings(0.9, 0, true, 5e-4), Device.cpu())) {
            List<String> names = replica.tensors().layout().tensors().stream().map(TensorSpec::name).toList();
            assertEquals(List.of("stem.conv.weight", "stem.bn.weight", "stem.bn.bias", "stem.bn.running_mean",
                    "stem.bn.running_var", "stem.bn.num_batches_tracked", "s1.b1.f.a.weight", "s1.b1.f.a_bn.weight"),
                    names.subList(0, 8));
            int proj = names.indexOf("s2.b1.proj.weight");
            assertEquals(List.of("s2.b1.proj.weight", "s2.b1.bn.weight", "s2.b1.bn.bias", "s2.b1.bn.running_mean",
                    "s2.b1.bn.running_var", "s2.b1.bn.num_batches_tracked", "s2.b1.f.a.weight"), names.subList(proj, proj + 7));
            assertEquals(List.of("head.fc.weight", "head.fc.bias"), names.subList(names.size() - 2, names.size()));
            assertTrue(names.contains("s3.b3.f.b_bn.running_var"));
            // pycls/torchvision count for ResNet-20 on 10 classes
            assertEquals(272_474, replica.tensors().layout().parameterCount());
            TensorSpec fc = replica.tensors().layout().tensor(names.indexOf("head.fc.weight"));
            assertEquals(List.of(10L, 64L), java.util.Arrays.stream(fc.shape()).boxed().toList(), "torch Linear: (out, in)");
        }
    }

    @Test
    void pyclsInitIsDeterministicAndHasTheRightStatistics() {
        try (Replica replica = new Replica(RESNET20, new SgdSettings(0.9, 0, true, 5e-4), Device.cpu())) {
            StateLayout layout = replica.tensors().layout();
            ModelState a = PyclsInit.initialize(layout, 1, true);
            assertEquals(a, PyclsInit.initialize(layout, 1, true));
            float[] conv = a.tensor("s3.b1.f.a.weight"); // 64 x 32 x 3 x 3: std sqrt(2 / (9 * 64))
            double sumSq = 0;
            for (float v : conv) {
                sumSq += v * v;
            }
            assertEquals(Math.sqrt(2.0 / (9 * 64)), Math.sqrt(sumSq / conv.length), 0.003);
            for (float v : a.tensor("s1.b1.f.b_bn.weight")) {
                assertEquals(0f, v, "ZERO_INIT_FINAL_GAMMA");
            }
            for (float v : a.tensor("s1.b1.f.a_bn.weight")) {
                assertEquals(1f, v);
            }
            for (float v : a.tensor("stem.bn.running_var")) {
                assertEquals(1f, v);
            }
            replica.load(a);
            assertEquals(a, replica.read(), "write then read back through the DJL parameters");
        }
    }
}
