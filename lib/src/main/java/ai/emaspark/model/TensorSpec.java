package ai.emaspark.model;

import java.io.Serializable;
import java.util.Arrays;

/**
 * One named tensor of a model's state, in PyTorch {@code state_dict} terms.
 *
 * @param name the pycls state_dict key, e.g. {@code s1.b1.f.a_bn.running_mean}
 * @param shape the tensor shape (empty for a scalar)
 * @param integer true for int64 buffers (BN {@code num_batches_tracked}), kept apart from floats
 * @param trainable true for parameters that get gradients
 * @param role how pycls initialises it
 */
public record TensorSpec(String name, long[] shape, boolean integer, boolean trainable, Role role)
        implements Serializable {

    public enum Role {
        CONV_WEIGHT,
        CONV_BIAS,
        BN_WEIGHT,
        BN_FINAL_WEIGHT,
        BN_BIAS,
        BN_RUNNING_MEAN,
        BN_RUNNING_VAR,
        BN_BATCH_COUNT,
        LINEAR_WEIGHT,
        LINEAR_BIAS
    }

    public int size() {
        long size = 1;
        for (long dim : shape) {
            size *= dim;
        }
        return Math.toIntExact(size);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TensorSpec spec
                && spec.name.equals(name)
                && Arrays.equals(spec.shape, shape)
                && spec.integer == integer
                && spec.trainable == trainable
                && spec.role == role;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
