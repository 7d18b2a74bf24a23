package ai.emaspark.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.emaspark.data.Batch;
import ai.emaspark.eval.TopK;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.ModelTensors;
import ai.emaspark.model.Models;
import java.nio.FloatBuffer;

/**
 * One model replica on one device: forward and backward on a batch, its gradients out as one flat
 * buffer, the SGD step from the averaged gradients, evaluation. Knows nothing of other replicas.
 */
public final class Replica implements AutoCloseable {
    private final ModelSpec spec;
    private final NDManager manager;
    private final Block model;
    private final ModelTensors tensors;
    private final Sgd sgd;
    private final ParameterStore store;
    private final double labelSmoothing;

    public Replica(ModelSpec spec, SgdSettings settings, Device device) {
        this(spec, settings, 0, device);
    }

    /** labelSmoothing: TRAIN.LABEL_SMOOTHING, pycls's smoothed one-hot targets. */
    public Replica(ModelSpec spec, SgdSettings settings, double labelSmoothing, Device device) {
        this.spec = spec;
        this.labelSmoothing = labelSmoothing;
        this.manager = Engine.getEngine("PyTorch").newBaseManager(device);
        this.model = Models.build(spec);
        noGrad();
        model.initialize(manager, DataType.FLOAT32, new Shape(1, 3, spec.imageSize(), spec.imageSize()));
        this.tensors = ModelTensors.of(model);
        this.sgd = new Sgd(settings, tensors, manager);
        this.store = new ParameterStore(manager, false);
    }

    public ModelTensors tensors() {
        return tensors;
    }

    /** Whether the replica lives on a GPU (its tensors' views are host copies there). */
    public boolean onGpu() {
        return manager.getDevice().isGpu();
    }

    public void load(ModelState state) {
        noGrad();
        tensors.write(state);
    }

    public ModelState read() {
        return tensors.read();
    }

    /** {@link #read()} into a state of this model's layout, reused. */
    public ModelState readInto(ModelState state) {
        return tensors.read(state);
    }

    public void loadOptimizer(OptimizerState state) {
        noGrad();
        sgd.load(state);
    }

    public OptimizerState optimizerState() {
        return sgd.state();
    }

    /** Forward and backward in training mode; the gradients stay in the parameters. */
    public StepStats forwardBackward(Batch batch) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray images = input(scope, batch);
            NDArray labels = scope.create(longLabels(batch));
            float loss;
            float[] logits;
            try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
                NDArray output = model.forward(store, new NDList(images), true).singletonOrThrow();
                NDArray lossValue = crossEntropy(output, labels);
                collector.backward(lossValue);
                loss = lossValue.getFloat();
                logits = output.toFloatArray();
            }
            int[] hits = TopK.hits(logits, batch.labels(), batch.count(), spec.numClasses());
            return new StepStats(loss, hits[0], hits[1], batch.count());
        }
    }

    /** A training-mode forward without gradients: only the BN running statistics change. */
    public void forwardTraining(Batch batch) {
        noGrad();
        try (NDManager scope = manager.newSubManager()) {
            model.forward(store, new NDList(input(scope, batch)), true).close();
        }
    }

    public void readGradients(float[] out) {
        tensors.readGradients(out);
    }

    /** The gradients of flat indices [from, to) only, into {@code out}'s same places ({@link ModelTensors#readGradients(FloatBuffer, int, int)}). */
    public void readGradients(FloatBuffer out, int from, int to) {
        tensors.readGradients(out, from, to);
    }

    /** SGD from the averaged gradients, then the per-step bookkeeping PyTorch does. */
    public void step(float[] averagedGradients, double lr) {
        noGrad();
        sgd.step(averagedGradients, lr);
        sgd.zeroGradients();
        tensors.countTrainingStep();
    }

    /** Part of a step: the tensors (layout indices) whose averaged gradients are final; {@link #endStep} after the last. */
    public void stepTensors(FloatBuffer averagedGradients, double lr, int[] indices) {
        noGrad();
        for (int index : indices) {
            sgd.update(index, averagedGradients, lr);
        }
    }

    /** Ends a step made tensor by tensor ({@link #stepTensors}). */
    public void endStep() {
        noGrad();
        sgd.endStep();
        sgd.zeroGradients();
        tensors.countTrainingStep();
    }

    /** Inference-mode logits' top-1/top-5 hits: {top1, top5}. */
    public int[] evaluate(Batch batch) {
        return TopK.hits(logits(batch), batch.labels(), batch.count(), spec.numClasses());
    }

    /** Inference-mode logits, count x NUM_CLASSES, row-major. */
    public float[] logits(Batch batch) {
        noGrad();
        try (NDManager scope = manager.newSubManager()) {
            return model.forward(store, new NDList(input(scope, batch)), false).singletonOrThrow().toFloatArray();
        }
    }

    private static long[] longLabels(Batch batch) {
        long[] labels = new long[batch.count()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = batch.labels()[i];
        }
        return labels;
    }

    private NDArray input(NDManager scope, Batch batch) {
        int size = batch.size();
        FloatBuffer data = FloatBuffer.wrap(batch.images(), 0, batch.count() * 3 * size * size);
        return scope.create(data, new Shape(batch.count(), 3, size, size)).toDevice(manager.getDevice(), false);
    }

    /**
     * pycls's SoftCrossEntropyLoss: mean over the batch of sum(-y * log_softmax(x)), y the one-hot
     * labels smoothed as pycls's smooth_one_hot_labels: ls / n off target, 1 - ls + ls / n on it.
     */
    private NDArray crossEntropy(NDArray logits, NDArray labels) {
        NDArray logProbabilities = logits.logSoftmax(1);
        int n = spec.numClasses();
        double off = labelSmoothing / n;
        double on = 1.0 - labelSmoothing + off;
        NDArray targets = labels.oneHot(n).toType(DataType.FLOAT32, false);
        if (labelSmoothing != 0) {
            targets = targets.mul(on - off).add(off); // DJL's PyTorch engine has no oneHot(on, off)
        }
        return logProbabilities.mul(targets).sum(new int[] {1}).mean().neg();
    }

    /**
     * PyTorch's grad mode is per thread and on by default; Spark runs each task on a new thread.
     * Off outside the gradient collector, so in-place updates of parameters are allowed.
     */
    private static void noGrad() {
        JniUtils.setGradMode(false);
    }

    @Override
    public void close() {
        sgd.close();
        manager.close();
    }
}
