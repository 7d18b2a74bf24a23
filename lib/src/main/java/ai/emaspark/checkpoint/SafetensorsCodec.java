package ai.emaspark.checkpoint;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Named tensors ⇄ safetensors bytes, through DJL's NDList encoding. Names are pycls state_dict keys,
 * so {@code safetensors.torch.load_file} gives a dict that {@code load_state_dict} takes as is.
 */
public final class SafetensorsCodec {
    private SafetensorsCodec() {}

    private static NDManager newManager() {
        return NDManager.newBaseManager(Device.cpu(), "PyTorch");
    }

    /** Writes a whole model state (float tensors F32, int64 buffers I64). */
    public static void writeState(OutputStream out, ModelState state) throws IOException {
        StateLayout layout = state.layout();
        try (NDManager manager = newManager()) {
            NDList list = new NDList();
            for (int i = 0; i < layout.tensors().size(); i++) {
                TensorSpec spec = layout.tensor(i);
                Shape shape = new Shape(spec.shape());
                int offset = layout.offset(i);
                NDArray array = spec.integer()
                        ? manager.create(Arrays.copyOfRange(state.longs(), offset, offset + spec.size()), shape)
                        : manager.create(FloatBuffer.wrap(state.floats(), offset, spec.size()).slice(), shape);
                array.setName(spec.name());
                list.add(array);
            }
            list.encode(out, NDList.Encoding.SAFETENSORS);
        }
    }

    /** Writes the SGD momentum buffers, one per trainable tensor, named {@code <name>.momentum_buffer}. */
    public static void writeMomentum(OutputStream out, StateLayout layout, float[] momentum) throws IOException {
        try (NDManager manager = newManager()) {
            NDList list = new NDList();
            for (int i = 0; i < layout.tensors().size(); i++) {
                int offset = layout.gradientOffset(i);
                if (offset < 0) {
                    continue;
                }
                TensorSpec spec = layout.tensor(i);
                NDArray array = manager.create(FloatBuffer.wrap(momentum, offset, spec.size()).slice(), new Shape(spec.shape()));
                array.setName(spec.name() + ".momentum_buffer");
                list.add(array);
            }
            list.encode(out, NDList.Encoding.SAFETENSORS);
        }
    }

    /** Reads a model state; every tensor of {@code layout} must be there with its shape and dtype. */
    public static ModelState readState(InputStream in, StateLayout layout, String source) throws IOException {
        ModelState state = ModelState.zeros(layout);
        try (NDManager manager = newManager()) {
            NDList list = decode(manager, in, source);
            for (int i = 0; i < layout.tensors().size(); i++) {
                TensorSpec spec = layout.tensor(i);
                NDArray array = find(list, spec.name(), spec.shape(), source);
                int offset = layout.offset(i);
                if (spec.integer()) {
                    long[] values = array.toType(DataType.INT64, false).toLongArray();
                    System.arraycopy(values, 0, state.longs(), offset, spec.size());
                } else {
                    requireFloat(array, spec.name(), source);
                    System.arraycopy(array.toFloatArray(), 0, state.floats(), offset, spec.size());
                }
            }
            if (list.size() != layout.tensors().size()) {
                throw new IOException(source + " holds " + list.size() + " tensors, the model " + layout.tensors().size());
            }
        }
        return state;
    }

    /** Reads momentum buffers written by {@link #writeMomentum}. */
    public static float[] readMomentum(InputStream in, StateLayout layout, String source) throws IOException {
        float[] momentum = new float[layout.gradientCount()];
        try (NDManager manager = newManager()) {
            NDList list = decode(manager, in, source);
            for (int i = 0; i < layout.tensors().size(); i++) {
                int offset = layout.gradientOffset(i);
                if (offset < 0) {
                    continue;
                }
                TensorSpec spec = layout.tensor(i);
                NDArray array = find(list, spec.name() + ".momentum_buffer", spec.shape(), source);
                requireFloat(array, spec.name(), source);
                System.arraycopy(array.toFloatArray(), 0, momentum, offset, spec.size());
            }
        }
        return momentum;
    }

    private static NDList decode(NDManager manager, InputStream in, String source) throws IOException {
        try {
            return NDList.decode(manager, in);
        } catch (IllegalArgumentException e) {
            throw new IOException(source + " is not a readable safetensors file: " + e.getMessage(), e);
        }
    }

    private static NDArray find(NDList list, String name, long[] shape, String source) throws IOException {
        NDArray array = list.get(name);
        if (array == null) {
            throw new IOException(source + " has no tensor " + name);
        }
        if (!Arrays.equals(array.getShape().getShape(), shape)) {
            throw new IOException(source + ": tensor " + name + " has shape " + array.getShape()
                    + ", the model " + new Shape(shape));
        }
        return array;
    }

    private static void requireFloat(NDArray array, String name, String source) throws IOException {
        if (array.getDataType() != DataType.FLOAT32) {
            throw new IOException(source + ": tensor " + name + " is " + array.getDataType() + ", expected float32");
        }
    }
}
