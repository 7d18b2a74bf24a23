package ai.emaspark.model;

import java.util.SplittableRandom;

/**
 * pycls's weight initialisation ({@code pycls/models/blocks.py init_weights}) over a flat state:
 * conv weights normal(0, sqrt(2 / fan_out)), BN gamma 1 (0 for a block's final BN when
 * BN.ZERO_INIT_FINAL_GAMMA), BN beta 0, linear weights normal(0, 0.01), linear biases 0; conv biases
 * (SE only), which pycls leaves to PyTorch, uniform(+-1/sqrt(fan_in)) as PyTorch does. Each tensor draws
 * from its own stream seeded by (RNG_SEED, tensor name), so the result does not depend on order.
 */
public final class PyclsInit {
    private PyclsInit() {}

    public static ModelState initialize(StateLayout layout, long seed, boolean zeroInitFinalGamma) {
        ModelState state = ModelState.zeros(layout);
        for (int i = 0; i < layout.tensors().size(); i++) {
            TensorSpec spec = layout.tensor(i);
            if (spec.integer()) {
                continue; // num_batches_tracked starts at 0
            }
            int offset = layout.offset(i);
            fill(state.floats(), offset, spec, new SplittableRandom(seed * 0x9E3779B97F4A7C15L + spec.name().hashCode()),
                    zeroInitFinalGamma, convFanIn(layout, spec));
        }
        return state;
    }

    /** in_channels / groups * k * k of the conv a bias belongs to (its weight's shape[1..3]); 0 otherwise. */
    private static long convFanIn(StateLayout layout, TensorSpec spec) {
        if (spec.role() != TensorSpec.Role.CONV_BIAS) {
            return 0;
        }
        String weight = spec.name().substring(0, spec.name().length() - "bias".length()) + "weight";
        long[] shape = layout.tensor(layout.indexOf(weight)).shape();
        return shape[1] * shape[2] * shape[3];
    }

    private static void fill(float[] out, int offset, TensorSpec spec, SplittableRandom random, boolean zeroFinal,
                             long fanIn) {
        int size = spec.size();
        switch (spec.role()) {
            case CONV_WEIGHT -> {
                long fanOut = spec.shape()[0] * spec.shape()[2] * spec.shape()[3];
                gaussian(out, offset, size, Math.sqrt(2.0 / fanOut), random);
            }
            case LINEAR_WEIGHT -> gaussian(out, offset, size, 0.01, random);
            case CONV_BIAS -> uniform(out, offset, size, 1 / Math.sqrt(fanIn), random);
            case BN_WEIGHT, BN_RUNNING_VAR -> constant(out, offset, size, 1f);
            case BN_FINAL_WEIGHT -> constant(out, offset, size, zeroFinal ? 0f : 1f);
            default -> constant(out, offset, size, 0f);
        }
    }

    private static void gaussian(float[] out, int offset, int size, double std, SplittableRandom random) {
        for (int i = 0; i < size; i++) {
            out[offset + i] = (float) (random.nextGaussian() * std);
        }
    }

    private static void uniform(float[] out, int offset, int size, double bound, SplittableRandom random) {
        for (int i = 0; i < size; i++) {
            out[offset + i] = (float) random.nextDouble(-bound, bound);
        }
    }

    private static void constant(float[] out, int offset, int size, float value) {
        java.util.Arrays.fill(out, offset, offset + size, value);
    }
}
