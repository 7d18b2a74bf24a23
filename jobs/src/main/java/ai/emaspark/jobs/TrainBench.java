package ai.emaspark.jobs;

import ai.djl.Device;
import ai.emaspark.config.Config;
import ai.emaspark.data.Batch;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.PyclsInit;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import java.util.SplittableRandom;

/**
 * Our half of the training benchmark: one replica's full step (forward, soft cross-entropy, backward,
 * gradients out to the flat buffer the all-reduce would take, SGD with momentum and weight decay) on
 * random images, as jobs/bench/train_bench.py does in PyTorch eager. Prints one JSON line.
 *
 * <p>{@code TrainBench [--depth 50] [--batch 32] [--size 224] [--steps 5] [--warmup 2]}; depth 50 is pycls's
 * ResNet-50 (1000 classes), a depth of 6n+2 its CIFAR-layout ResNet (10 classes, as the quickstart's);
 * threads come from -Dai.djl.pytorch.num_threads.
 */
public final class TrainBench {
    private TrainBench() {
    }

    public static void main(String[] args) {
        int batch = 32;
        int size = 224;
        int steps = 5;
        int warmup = 2;
        int depth = 50;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(args[i + 1]);
                case "--size" -> size = Integer.parseInt(args[i + 1]);
                case "--steps" -> steps = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--depth" -> depth = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Config cfg = depth == 50
            ? Config.defaults().with("MODEL.TYPE", "resnet").with("MODEL.DEPTH", 50).with("MODEL.NUM_CLASSES", 1000)
                .with("RESNET.TRANS_FUN", "bottleneck_transform").with("RESNET.STRIDE_1X1", false)
                .with("TRAIN.IM_SIZE", size).with("OPTIM.WEIGHT_DECAY", 5e-5)
            : Config.defaults().with("MODEL.TYPE", "resnet").with("MODEL.DEPTH", depth).with("MODEL.NUM_CLASSES", 10)
                .with("TRAIN.IM_SIZE", size).with("OPTIM.WEIGHT_DECAY", 5e-4);
        ModelSpec spec = ModelSpec.of(cfg);
        Batch data = randomBatch(batch, size, spec.numClasses());
        double[] times = new double[steps];
        double[] forwardBackward = new double[steps];
        double[] gradientsOut = new double[steps];
        try (Replica replica = new Replica(spec, SgdSettings.of(cfg), Device.cpu())) {
            replica.load(PyclsInit.initialize(replica.tensors().layout(), 1, true));
            float[] grads = new float[replica.tensors().layout().gradientCount()];
            for (int s = 0; s < warmup + steps; s++) {
                long start = System.nanoTime();
                replica.forwardBackward(data);
                long backwardDone = System.nanoTime();
                replica.readGradients(grads);
                long gradientsDone = System.nanoTime();
                replica.step(grads, 0.01);
                if (s >= warmup) {
                    times[s - warmup] = (System.nanoTime() - start) / 1e9;
                    forwardBackward[s - warmup] = (backwardDone - start) / 1e9;
                    gradientsOut[s - warmup] = (gradientsDone - backwardDone) / 1e9;
                }
            }
        }
        double median = median(times);
        double fb = median(forwardBackward);
        double out = median(gradientsOut);
        System.out.printf(java.util.Locale.ROOT, "{\"peer\": \"emaspark\", \"images_per_s\": %.2f, \"step_s_median\": %.3f, "
                + "\"forward_backward_s\": %.3f, \"gradients_out_s\": %.3f, \"sgd_s\": %.3f, \"batch\": %d, \"size\": %d, \"threads\": \"%s\", \"java\": \"%s\"}%n",
            batch / median, median, fb, out, median - fb - out, batch, size, System.getProperty("ai.djl.pytorch.num_threads", "default"),
            System.getProperty("java.version"));
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static Batch randomBatch(int n, int size, int classes) {
        SplittableRandom random = new SplittableRandom(3);
        Batch batch = Batch.allocate(n, size);
        for (int i = 0; i < batch.images().length; i++) {
            batch.images()[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < n; i++) {
            batch.labels()[i] = random.nextInt(classes);
        }
        return batch.withCount(n);
    }
}
