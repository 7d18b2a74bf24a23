package ai.emaspark.model;

import java.io.Serializable;
import java.util.List;

/**
 * The ordered tensors of a model's state and where each lives in the flat buffers: float tensors
 * in one float[] (weights, BN statistics), int64 buffers in one long[], and the trainable float
 * tensors again in a gradient-only float[] (what the all-reduce moves).
 */
public final class StateLayout implements Serializable {
    private static final long serialVersionUID = 1L;

    private final List<TensorSpec> tensors;
    private final int[] offsets;
    private final int[] gradientOffsets;
    private final int floatCount;
    private final int longCount;
    private final int gradientCount;

    public StateLayout(List<TensorSpec> tensors) {
        this.tensors = List.copyOf(tensors);
        this.offsets = new int[tensors.size()];
        this.gradientOffsets = new int[tensors.size()];
        int floats = 0;
        int longs = 0;
        int gradients = 0;
        for (int i = 0; i < tensors.size(); i++) {
            TensorSpec spec = tensors.get(i);
            gradientOffsets[i] = -1;
            if (spec.integer()) {
                offsets[i] = longs;
                longs += spec.size();
            } else {
                offsets[i] = floats;
                floats += spec.size();
                if (spec.trainable()) {
                    gradientOffsets[i] = gradients;
                    gradients += spec.size();
                }
            }
        }
        this.floatCount = floats;
        this.longCount = longs;
        this.gradientCount = gradients;
    }

    public List<TensorSpec> tensors() {
        return tensors;
    }

    public TensorSpec tensor(int index) {
        return tensors.get(index);
    }

    public int indexOf(String name) {
        for (int i = 0; i < tensors.size(); i++) {
            if (tensors.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    /** Offset of tensor {@code index} in the float[] (or long[] for integer tensors). */
    public int offset(int index) {
        return offsets[index];
    }

    /** Offset of trainable tensor {@code index} in the gradient buffer; -1 if not trainable. */
    public int gradientOffset(int index) {
        return gradientOffsets[index];
    }

    public int floatCount() {
        return floatCount;
    }

    public int longCount() {
        return longCount;
    }

    public int gradientCount() {
        return gradientCount;
    }

    public long parameterCount() {
        return gradientCount;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof StateLayout layout && layout.tensors.equals(tensors);
    }

    @Override
    public int hashCode() {
        return tensors.hashCode();
    }
}
