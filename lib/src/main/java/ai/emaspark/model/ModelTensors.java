package ai.emaspark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.util.Pair;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The named state of an initialised DJL model, in PyTorch state_dict order and names, and the
 * copies between it and flat buffers. BN's {@code num_batches_tracked} has no DJL counterpart: it
 * is kept here as a counter that {@link #countTrainingStep()} advances, as PyTorch's would.
 */
public final class ModelTensors {
    private final StateLayout layout;
    private final List<Parameter> parameters; // null where the tensor is a batch counter
    private long batchesTracked;

    private ModelTensors(StateLayout layout, List<Parameter> parameters) {
        this.layout = layout;
        this.parameters = parameters;
    }

    /** Walks an initialised block tree; child names are pycls module names. */
    public static ModelTensors of(Block root) {
        List<TensorSpec> specs = new ArrayList<>();
        List<Parameter> parameters = new ArrayList<>();
        walk(root, null, "", "", specs, parameters);
        return new ModelTensors(new StateLayout(specs), parameters);
    }

    private static void walk(Block block, Block parent, String prefix, String leaf, List<TensorSpec> specs,
                             List<Parameter> parameters) {
        for (Pair<String, Parameter> pair : block.getDirectParameters()) {
            Parameter parameter = pair.getValue();
            boolean finalBn = parent instanceof Seq seq && seq.isFinalBn(leaf);
            TensorSpec.Role role = role(block, pair.getKey(), finalBn);
            String name = prefix + torchName(pair.getKey());
            specs.add(new TensorSpec(name, parameter.getArray().getShape().getShape(), false,
                    parameter.requiresGradient(), role));
            parameters.add(parameter);
        }
        if (block instanceof BatchNorm) {
            specs.add(new TensorSpec(prefix + "num_batches_tracked", new long[0], true, false,
                    TensorSpec.Role.BN_BATCH_COUNT));
            parameters.add(null);
        }
        for (Pair<String, Block> child : block.getChildren()) {
            // DJL prefixes child names with their position ("01stem"); pycls names have none.
            String childName = child.getKey().replaceFirst("^\\d{2}", "");
            walk(child.getValue(), block, prefix + childName + ".", childName, specs, parameters);
        }
    }

    private static String torchName(String djlName) {
        return switch (djlName) {
            case "gamma" -> "weight";
            case "beta" -> "bias";
            case "runningMean" -> "running_mean";
            case "runningVar" -> "running_var";
            default -> djlName;
        };
    }

    private static TensorSpec.Role role(Block block, String djlName, boolean finalBn) {
        if (block instanceof Conv2d) {
            return djlName.equals("weight") ? TensorSpec.Role.CONV_WEIGHT : TensorSpec.Role.CONV_BIAS;
        }
        if (block instanceof Linear) {
            return djlName.equals("weight") ? TensorSpec.Role.LINEAR_WEIGHT : TensorSpec.Role.LINEAR_BIAS;
        }
        if (block instanceof BatchNorm) {
            return switch (djlName) {
                // pycls marks the last BN of a transform final_bn (zero-init gamma option)
                case "gamma" -> finalBn ? TensorSpec.Role.BN_FINAL_WEIGHT : TensorSpec.Role.BN_WEIGHT;
                case "beta" -> TensorSpec.Role.BN_BIAS;
                case "runningMean" -> TensorSpec.Role.BN_RUNNING_MEAN;
                default -> TensorSpec.Role.BN_RUNNING_VAR;
            };
        }
        throw new IllegalArgumentException("no pycls role for parameter " + djlName + " of " + block.getClass().getSimpleName());
    }

    public StateLayout layout() {
        return layout;
    }

    /** The DJL parameter behind tensor {@code index}; null for batch counters. */
    public Parameter parameter(int index) {
        return parameters.get(index);
    }

    public void countTrainingStep() {
        batchesTracked++;
    }

    /** A copy of one float tensor's current values. */
    public float[] readTensor(int index) {
        float[] values = new float[layout.tensor(index).size()];
        floatView(parameters.get(index).getArray()).get(values);
        return values;
    }

    /** Copies the model's current values into a new flat state. */
    public ModelState read() {
        return read(ModelState.zeros(layout));
    }

    /** Copies the model's current values into {@code state} (of this layout), reused: no allocation. */
    public ModelState read(ModelState state) {
        if (!state.layout().equals(layout)) {
            throw new IllegalArgumentException("state does not match this model's layout");
        }
        for (int i = 0; i < parameters.size(); i++) {
            TensorSpec spec = layout.tensor(i);
            if (spec.integer()) {
                state.longs()[layout.offset(i)] = batchesTracked;
            } else {
                floatView(parameters.get(i).getArray()).get(state.floats(), layout.offset(i), spec.size());
            }
        }
        return state;
    }

    /** Overwrites the model's values with {@code state}. */
    public void write(ModelState state) {
        if (!state.layout().equals(layout)) {
            throw new IllegalArgumentException("state does not match this model's layout");
        }
        for (int i = 0; i < parameters.size(); i++) {
            TensorSpec spec = layout.tensor(i);
            if (spec.integer()) {
                batchesTracked = state.longs()[layout.offset(i)];
            } else {
                writeInto(parameters.get(i).getArray(), state.floats(), layout.offset(i), spec.size());
            }
        }
    }

    /** Copies every trainable parameter's gradient into {@code out} (gradient layout). */
    public void readGradients(float[] out) {
        for (int i = 0; i < parameters.size(); i++) {
            int offset = layout.gradientOffset(i);
            if (offset >= 0) {
                floatView(parameters.get(i).getArray().getGradient()).get(out, offset, layout.tensor(i).size());
            }
        }
    }

    /**
     * Copies the gradient values of flat gradient indices [from, to) into the same places of {@code out}:
     * part of {@link #readGradients(float[])}, so the copy can go bucket by bucket. On a GPU each call
     * copies every tensor it touches to the host whole: read them all at once there.
     */
    public void readGradients(FloatBuffer out, int from, int to) {
        for (int i = 0; i < parameters.size(); i++) {
            int offset = layout.gradientOffset(i);
            if (offset < 0) {
                continue;
            }
            int start = Math.max(from, offset);
            int end = Math.min(to, offset + layout.tensor(i).size());
            if (start < end) {
                out.put(start, floatView(parameters.get(i).getArray().getGradient()), start - offset, end - start);
            }
        }
    }

    /**
     * A float view of a tensor's memory. On the CPU this is the tensor's own storage (no copy); on
     * a GPU, DJL returns a host copy.
     */
    public static FloatBuffer floatView(NDArray array) {
        ByteBuffer bytes = array.toByteBuffer(true);
        return bytes.order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /**
     * Writes values into a tensor in place. CPU: through the storage view. GPU: a host tensor is
     * copied onto the device and added into the zeroed target, never {@code NDArray.set(buffer)},
     * which re-points the tensor at Java memory.
     */
    static void writeInto(NDArray target, float[] values, int offset, int length) {
        if (!target.getDevice().isGpu()) {
            floatView(target).put(values, offset, length);
            return;
        }
        try (NDArray host = target.getManager().create(java.util.Arrays.copyOfRange(values, offset, offset + length), target.getShape());
                NDArray device = host.toDevice(target.getDevice(), false)) {
            target.muli(0).addi(device);
        }
    }
}
