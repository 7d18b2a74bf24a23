package ai.emaspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.ModelTensors;
import ai.emaspark.model.Models;
import ai.emaspark.model.PyclsInit;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bookkeeping around precise BN; its statistics themselves are checked against pycls in PyclsParityTest. */
class PreciseBnTest {
    @Test
    void iterationsAsPycls() {
        assertEquals(32, PreciseBn.iterations(8192, 32, 8, 5000), "int(8192 / 32 / 8)");
        assertEquals(20, PreciseBn.iterations(8192, 16, 2, 20), "never more batches than a replica has");
        assertEquals(0, PreciseBn.iterations(100, 64, 2, 20));
    }

    @Test
    void averagesOverReplicasAndReplacesOnlyRunningStatistics() {
        ModelSpec spec = new ModelSpec("resnet", 8, 4, 1e-5, 0.1, false, 16);
        StateLayout layout;
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
            ai.djl.nn.Block block = Models.build(spec);
            block.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32, new ai.djl.ndarray.types.Shape(1, 3, 16, 16));
            layout = ModelTensors.of(block).layout();
        }
        ModelState state = PyclsInit.initialize(layout, 1, false);
        int count = PreciseBn.statisticTensors(layout).stream().mapToInt(i -> layout.tensor(i).size()).sum();
        float[] a = new float[count];
        float[] b = new float[count];
        for (int j = 0; j < count; j++) {
            a[j] = j;
            b[j] = 3 * j;
        }
        float[] mean = PreciseBn.average(List.of(a, b));
        assertEquals(2f * 5, mean[5]);
        ModelState precise = PreciseBn.apply(state, mean);
        int at = 0;
        for (int i = 0; i < layout.tensors().size(); i++) {
            TensorSpec t = layout.tensor(i);
            float[] before = java.util.Arrays.copyOfRange(state.floats(), layout.offset(i), layout.offset(i) + (t.integer() ? 0 : t.size()));
            float[] after = java.util.Arrays.copyOfRange(precise.floats(), layout.offset(i), layout.offset(i) + (t.integer() ? 0 : t.size()));
            if (t.role() == TensorSpec.Role.BN_RUNNING_MEAN || t.role() == TensorSpec.Role.BN_RUNNING_VAR) {
                assertArrayEquals(java.util.Arrays.copyOfRange(mean, at, at + t.size()), after, t.name());
                at += t.size();
            } else {
                assertArrayEquals(before, after, t.name() + " unchanged");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> PreciseBn.apply(state, new float[count - 1]));
    }
}
