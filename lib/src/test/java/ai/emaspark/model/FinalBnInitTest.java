package ai.emaspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.emaspark.config.Config;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * pycls marks final_bn only on the last BN of a residual transform (b_bn of the basic transform, c_bn of
 * the bottleneck), never in a vanilla block; BN.ZERO_INIT_FINAL_GAMMA zeroes exactly those gammas.
 * SE conv biases get PyTorch's default uniform init.
 */
class FinalBnInitTest {
    private static StateLayout layout(Map<String, Object> keys) {
        Config cfg = Config.defaults();
        for (Map.Entry<String, Object> e : keys.entrySet()) {
            cfg = cfg.with(e.getKey(), e.getValue());
        }
        try (Replica replica = new Replica(ModelSpec.of(cfg), SgdSettings.of(cfg), Device.cpu())) {
            return replica.tensors().layout();
        }
    }

    private static TensorSpec.Role role(StateLayout layout, String name) {
        int index = layout.indexOf(name);
        assertTrue(index >= 0, name);
        return layout.tensor(index).role();
    }

    @Test
    void finalBnIsTheTransformsLastBn() {
        StateLayout bottleneck = layout(Map.of("MODEL.DEPTH", 50, "RESNET.TRANS_FUN", "bottleneck_transform",
            "TRAIN.IM_SIZE", 32, "RESNET.WIDTH_PER_GROUP", 4));
        assertEquals(TensorSpec.Role.BN_FINAL_WEIGHT, role(bottleneck, "s1.b1.f.c_bn.weight"));
        assertEquals(TensorSpec.Role.BN_WEIGHT, role(bottleneck, "s1.b1.f.b_bn.weight"));
        assertEquals(TensorSpec.Role.BN_WEIGHT, role(bottleneck, "s1.b1.bn.weight"), "shortcut BN");
        StateLayout basic = layout(Map.of("MODEL.DEPTH", 20, "TRAIN.IM_SIZE", 32));
        assertEquals(TensorSpec.Role.BN_FINAL_WEIGHT, role(basic, "s1.b1.f.b_bn.weight"));
        StateLayout vanilla = layout(Map.of("MODEL.TYPE", "anynet", "ANYNET.BLOCK_TYPE", "vanilla_block",
            "ANYNET.DEPTHS", List.of(1), "ANYNET.WIDTHS", List.of(8), "ANYNET.STRIDES", List.of(1), "TRAIN.IM_SIZE", 16));
        assertEquals(TensorSpec.Role.BN_WEIGHT, role(vanilla, "s1.b1.b_bn.weight"), "vanilla blocks have no final_bn");
    }

    @Test
    void zeroInitTouchesOnlyFinalGammasAndSeBiasesAreUniform() {
        StateLayout regnetY = layout(Map.of("MODEL.TYPE", "regnet", "REGNET.SE_ON", true, "REGNET.DEPTH", 4,
            "TRAIN.IM_SIZE", 32));
        ModelState zeroed = PyclsInit.initialize(regnetY, 1, true);
        ModelState ones = PyclsInit.initialize(regnetY, 1, false);
        int finals = 0;
        for (int i = 0; i < regnetY.tensors().size(); i++) {
            TensorSpec t = regnetY.tensor(i);
            if (t.integer()) {
                continue;
            }
            float[] z = java.util.Arrays.copyOfRange(zeroed.floats(), regnetY.offset(i), regnetY.offset(i) + t.size());
            float[] o = java.util.Arrays.copyOfRange(ones.floats(), regnetY.offset(i), regnetY.offset(i) + t.size());
            if (t.role() == TensorSpec.Role.BN_FINAL_WEIGHT) {
                finals++;
                for (int j = 0; j < z.length; j++) {
                    assertEquals(0f, z[j], t.name());
                    assertEquals(1f, o[j], t.name());
                }
            } else {
                assertTrue(java.util.Arrays.equals(z, o), t.name() + " does not depend on the flag");
            }
            if (t.role() == TensorSpec.Role.CONV_BIAS) {
                long[] w = regnetY.tensor(regnetY.indexOf(t.name().replace("bias", "weight"))).shape();
                double bound = 1 / Math.sqrt(w[1] * w[2] * w[3]);
                boolean spread = false;
                for (float v : o) {
                    assertTrue(Math.abs(v) <= bound, t.name() + " within +-1/sqrt(fan_in)");
                    spread |= Math.abs(v) > bound / 4;
                }
                assertTrue(spread, t.name() + " is not all near zero");
            }
        }
        assertEquals(4, finals, "one final BN per block");
    }
}
