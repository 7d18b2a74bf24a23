package ai.emaspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.emaspark.model.ModelTensors;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * torch.optim.SGD (momentum, dampening, Nesterov, weight decay); DJL's PyTorch engine has no Nesterov.
 * On the CPU it runs fused in Java over the tensors' own memory ({@link FusedSgd}); on a GPU with
 * NDArray ops on the parameters' device. The averaged gradient comes in as one flat buffer (the
 * all-reduce's output), not through the parameters' own gradients.
 */
public final class Sgd implements AutoCloseable {
    private final SgdSettings settings;
    private final ModelTensors tensors;
    private final NDManager manager;
    private final NDArray[] buffers; // momentum buffers, made on first use: evaluation replicas never need them
    private final double[] weightDecays;
    private final FusedSgd fused; // null: NDArray ops on the CPU too (the GPU path, for tests)
    private float[] hostPiece = new float[0]; // a tensor's averaged gradients on their way to its device
    private long steps;

    public Sgd(SgdSettings settings, ModelTensors tensors, NDManager manager) {
        this(settings, tensors, manager, true);
    }

    /** {@code fusedOnCpu} false runs the NDArray ops a GPU runs on the CPU too: tests compare the two paths. */
    Sgd(SgdSettings settings, ModelTensors tensors, NDManager manager, boolean fusedOnCpu) {
        this.fused = fusedOnCpu ? new FusedSgd() : null;
        this.settings = settings;
        this.tensors = tensors;
        this.manager = manager;
        StateLayout layout = tensors.layout();
        this.buffers = new NDArray[layout.tensors().size()];
        this.weightDecays = new double[buffers.length];
        for (int i = 0; i < buffers.length; i++) {
            weightDecays[i] = settings.weightDecayOf(layout.tensor(i).name());
        }
    }

    /** The momentum buffer of trainable tensor {@code index}, zeros when first asked for. */
    private NDArray buffer(int index) {
        if (buffers[index] == null) {
            NDArray weight = tensors.parameter(index).getArray();
            buffers[index] = manager.zeros(weight.getShape(), weight.getDataType(), weight.getDevice());
        }
        return buffers[index];
    }

    /** One update with learning rate {@code lr} from the flat averaged gradient. */
    public void step(float[] averagedGradients, double lr) {
        FloatBuffer gradients = FloatBuffer.wrap(averagedGradients);
        for (int i = 0; i < buffers.length; i++) {
            update(i, gradients, lr);
        }
        endStep();
    }

    /**
     * Tensor {@code index}'s part of a step (nothing for a tensor without gradient), so a step can go
     * tensor by tensor as the exchange finishes them; {@link #endStep} once every tensor is done.
     */
    public void update(int index, FloatBuffer averagedGradients, double lr) {
        StateLayout layout = tensors.layout();
        int offset = layout.gradientOffset(index);
        if (offset < 0) {
            return;
        }
        NDArray weight = tensors.parameter(index).getArray();
        if (fused != null && !weight.getDevice().isGpu()) {
            fused.update(ModelTensors.floatView(weight), settings.momentum() == 0 ? null : ModelTensors.floatView(buffer(index)),
                    averagedGradients, offset, FusedSgd.Step.of(settings, weightDecays[index], lr, steps == 0));
            return;
        }
        try (NDManager scope = weight.getManager().newSubManager()) {
            int size = layout.tensor(index).size();
            if (hostPiece.length < size) {
                hostPiece = new float[size];
            }
            averagedGradients.get(offset, hostPiece, 0, size); // to the heap: DJL would point a tensor at direct memory
            NDArray grad = scope.create(FloatBuffer.wrap(hostPiece, 0, size).slice(), weight.getShape())
                    .toDevice(weight.getDevice(), false);
            weight.subi(direction(index, grad, weight, scope).mul(lr));
        }
    }

    public void endStep() {
        steps++;
    }

    /** A view of part of a flat buffer: the engine copies it once into the tensor, no Java copy first. */
    private static FloatBuffer slice(float[] values, int offset, int length) {
        return FloatBuffer.wrap(values, offset, length).slice();
    }

    /** The step direction; every temporary is attached to {@code scope} so it is freed after the step. */
    private NDArray direction(int index, NDArray grad, NDArray weight, NDManager scope) {
        NDArray d = grad;
        if (weightDecays[index] != 0) {
            NDArray decay = weight.mul(weightDecays[index]);
            decay.attach(scope);
            d = grad.add(decay);
        }
        if (settings.momentum() == 0) {
            return d;
        }
        NDArray buffer = buffer(index);
        if (steps == 0) {
            buffer.muli(0).addi(d);
        } else {
            buffer.muli(settings.momentum()).addi(settings.dampening() == 0 ? d : d.mul(1 - settings.dampening()));
        }
        if (!settings.nesterov()) {
            return buffer;
        }
        NDArray ahead = buffer.mul(settings.momentum());
        ahead.attach(scope);
        return d.add(ahead);
    }

    /** Zeroes the parameters' own gradients: PyTorch accumulates them across backward passes. */
    public void zeroGradients() {
        StateLayout layout = tensors.layout();
        for (int i = 0; i < buffers.length; i++) {
            if (layout.gradientOffset(i) >= 0) {
                NDArray grad = tensors.parameter(i).getArray().getGradient();
                grad.subi(grad);
            }
        }
    }

    public OptimizerState state() {
        StateLayout layout = tensors.layout();
        float[] momentum = new float[layout.gradientCount()];
        for (int i = 0; i < buffers.length; i++) {
            int offset = layout.gradientOffset(i);
            if (offset >= 0 && buffers[i] != null) { // never used: zeros
                ByteBuffer bytes = buffers[i].toByteBuffer(true).order(ByteOrder.nativeOrder());
                bytes.asFloatBuffer().get(momentum, offset, layout.tensor(i).size());
            }
        }
        return new OptimizerState(momentum, steps);
    }

    public void load(OptimizerState state) {
        StateLayout layout = tensors.layout();
        if (state.momentum().length != layout.gradientCount()) {
            throw new IllegalArgumentException("optimizer state has " + state.momentum().length
                    + " values, the model " + layout.gradientCount());
        }
        for (int i = 0; i < buffers.length; i++) {
            int offset = layout.gradientOffset(i);
            if (offset >= 0) {
                TensorSpec spec = layout.tensor(i);
                NDArray buffer = buffer(i);
                try (NDManager scope = buffer.getManager().newSubManager()) {
                    NDArray host = scope.create(slice(state.momentum(), offset, spec.size()), buffer.getShape());
                    buffer.muli(0).addi(host.toDevice(buffer.getDevice(), false));
                }
            }
        }
        steps = state.steps();
    }

    @Override
    public void close() {
        for (NDArray buffer : buffers) {
            if (buffer != null) {
                buffer.close();
            }
        }
    }
}
