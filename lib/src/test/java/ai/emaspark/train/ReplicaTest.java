package ai.emaspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.emaspark.data.Batch;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.PyclsInit;
import ai.emaspark.model.StateLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReplicaTest {
    private static final ModelSpec SPEC = new ModelSpec("resnet", 8, 4, 1e-5, 0.1, false, 16);

    private static Batch batch(long seed, int n) {
        Random random = new Random(seed);
        Batch batch = Batch.allocate(n, 16);
        for (int i = 0; i < batch.images().length; i++) {
            batch.images()[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < n; i++) {
            batch.labels()[i] = i % 4;
            // a learnable signal: shift channel 0 by the label
            for (int p = 0; p < 256; p++) {
                batch.images()[i * 768 + p] += batch.labels()[i];
            }
        }
        return batch.withCount(n);
    }

    @Test
    void sgdStepsLowerTheLossAndCountBatches() {
        try (Replica replica = new Replica(SPEC, new SgdSettings(0.9, 0, true, 5e-4), Device.cpu())) {
            StateLayout layout = replica.tensors().layout();
            replica.load(PyclsInit.initialize(layout, 3, false));
            Batch batch = batch(1, 16);
            float[] grads = new float[layout.gradientCount()];
            double first = 0;
            double last = 0;
            for (int step = 0; step < 15; step++) {
                StepStats stats = replica.forwardBackward(batch);
                if (step == 0) {
                    first = stats.loss();
                }
                last = stats.loss();
                replica.readGradients(grads);
                replica.step(grads, 0.05);
            }
            assertTrue(last < first * 0.5, "loss " + first + " -> " + last);
            ModelState state = replica.read();
            assertEquals(15, state.longs()[0], "num_batches_tracked counts training steps");
            assertEquals(15, replica.optimizerState().steps());
        }
    }

    /** Our NDArray SGD against torch.optim.SGD's update written out in plain Java. */
    @Test
    void sgdMatchesTorchsFormulaWithNesterovAndWeightDecay() {
        SgdSettings settings = new SgdSettings(0.9, 0, true, 1e-3);
        try (Replica replica = new Replica(SPEC, settings, Device.cpu())) {
            StateLayout layout = replica.tensors().layout();
            ModelState start = PyclsInit.initialize(layout, 5, false);
            replica.load(start);
            float[][] gradients = {randomGradients(layout, 1), randomGradients(layout, 2), randomGradients(layout, 3)};
            double[] lrs = {0.1, 0.1, 0.05};
            float[] weights = trainableWeights(start, layout);
            float[] buffer = new float[layout.gradientCount()];
            for (int step = 0; step < gradients.length; step++) {
                replica.step(gradients[step], lrs[step]);
                for (int i = 0; i < weights.length; i++) {
                    float d = gradients[step][i] + (float) settings.weightDecay() * weights[i];
                    buffer[i] = step == 0 ? d : buffer[i] * (float) settings.momentum() + d;
                    float direction = d + (float) settings.momentum() * buffer[i];
                    weights[i] -= (float) lrs[step] * direction;
                }
            }
            float[] actual = trainableWeights(replica.read(), layout);
            for (int i = 0; i < weights.length; i++) {
                assertEquals(weights[i], actual[i], 1e-6 * Math.max(1, Math.abs(weights[i])), "weight " + i);
            }
            float[] momentum = replica.optimizerState().momentum();
            for (int i = 0; i < buffer.length; i++) {
                assertEquals(buffer[i], momentum[i], 1e-6 * Math.max(1, Math.abs(buffer[i])), "momentum " + i);
            }
        }
    }

    @Test
    void gradientsReadInPiecesAreTheWholeRead() {
        try (Replica replica = new Replica(SPEC, new SgdSettings(0.9, 0, true, 0), Device.cpu())) {
            StateLayout layout = replica.tensors().layout();
            replica.load(PyclsInit.initialize(layout, 2, false));
            replica.forwardBackward(batch(3, 8));
            float[] whole = new float[layout.gradientCount()];
            replica.readGradients(whole);
            java.nio.FloatBuffer pieces = java.nio.ByteBuffer.allocateDirect(4 * whole.length)
                    .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer(); // the exchange's slab is direct memory
            Random random = new Random(4);
            for (int from = 0; from < whole.length; ) {
                int to = Math.min(whole.length, from + 1 + random.nextInt(5000)); // pieces that cut tensors anywhere
                replica.readGradients(pieces, from, to);
                from = to;
            }
            float[] read = new float[whole.length];
            pieces.get(0, read);
            assertTrue(java.util.Arrays.equals(whole, read));
            int nonZero = 0;
            for (float g : whole) {
                nonZero += g != 0 ? 1 : 0;
            }
            assertTrue(nonZero > whole.length / 2, "real gradients: " + nonZero + " of " + whole.length + " non-zero");
        }
    }

    @Test
    void optimizerStateRoundTrips() {
        try (Replica a = new Replica(SPEC, new SgdSettings(0.9, 0, true, 0), Device.cpu());
                Replica b = new Replica(SPEC, new SgdSettings(0.9, 0, true, 0), Device.cpu())) {
            StateLayout layout = a.tensors().layout();
            a.load(PyclsInit.initialize(layout, 1, false));
            a.step(randomGradients(layout, 4), 0.1);
            b.load(a.read());
            b.loadOptimizer(a.optimizerState());
            float[] g = randomGradients(layout, 5);
            a.step(g, 0.1);
            b.step(g, 0.1);
            assertEquals(a.read(), b.read());
        }
    }

    static float[] randomGradients(StateLayout layout, long seed) {
        Random random = new Random(seed);
        float[] g = new float[layout.gradientCount()];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) random.nextGaussian() * 0.1f;
        }
        return g;
    }

    static float[] trainableWeights(ModelState state, StateLayout layout) {
        float[] out = new float[layout.gradientCount()];
        for (int t = 0; t < layout.tensors().size(); t++) {
            int offset = layout.gradientOffset(t);
            if (offset >= 0) {
                System.arraycopy(state.floats(), layout.offset(t), out, offset, layout.tensor(t).size());
            }
        }
        return out;
    }
}
