package ai.emaspark.train;

import java.nio.FloatBuffer;

/**
 * torch.optim.SGD's update of one tensor in a single pass, on the CPU, in Java, over the tensor's own
 * memory (a view of libtorch's storage) and its momentum buffer's: per element the weight decay, the
 * momentum, Nesterov's look-ahead and the step, each the one rounding PyTorch's {@code add(other,
 * alpha)} makes (a fused multiply-add), in PyTorch's order. The NDArray path ran about eight kernels
 * and five allocations per tensor; this reads each value once and writes it once, a cache-sized piece
 * at a time.
 *
 * <pre>
 *   d = g + wd * w                      d_p.add(param, alpha=weight_decay)
 *   b = d             (first step)      buf = clone(d_p)
 *   b = m * b + (1 - dampening) * d     buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
 *   d = d + m * b     (Nesterov)        d_p.add(buf, alpha=momentum); else d = b
 *   w = w - lr * d                      param.add_(d_p, alpha=-lr)
 * </pre>
 */
final class FusedSgd {
    /** Values per piece: three arrays of it stay in a core's L1/L2 cache. */
    private static final int PIECE = 4096;

    private final float[] weights = new float[PIECE];
    private final float[] momenta = new float[PIECE];
    private final float[] grads = new float[PIECE];

    /** The hyper-parameters of one step, as the floats PyTorch's kernels use. */
    record Step(float lr, float weightDecay, float momentum, float dampening, boolean nesterov, boolean first) {
        static Step of(SgdSettings settings, double weightDecay, double lr, boolean first) {
            return new Step((float) lr, (float) weightDecay, (float) settings.momentum(), (float) settings.dampening(),
                    settings.nesterov(), first);
        }
    }

    /**
     * Updates {@code weight} (and {@code momentum}, null without momentum) in place from {@code
     * gradients[offset, offset + weight.remaining())} (absolute indices).
     */
    void update(FloatBuffer weight, FloatBuffer momentum, FloatBuffer gradients, int offset, Step step) {
        int size = weight.remaining();
        boolean usesMomentum = step.momentum() != 0;
        for (int start = 0; start < size; start += PIECE) {
            int n = Math.min(PIECE, size - start);
            weight.get(start, weights, 0, n);
            if (usesMomentum && !step.first()) {
                momentum.get(start, momenta, 0, n);
            }
            gradients.get(offset + start, grads, 0, n);
            if (usesMomentum && step.nesterov() && step.dampening() == 0 && !step.first()) {
                nesterov(grads, 0, n, step.weightDecay(), step.momentum(), -step.lr());
            } else {
                general(grads, 0, n, step, usesMomentum);
            }
            weight.put(start, weights, 0, n);
            if (usesMomentum) {
                momentum.put(start, momenta, 0, n);
            }
        }
    }

    /** pycls's case (Nesterov, no dampening) after the first step, branch-free so the JIT vectorizes it. */
    private void nesterov(float[] g, int from, int n, float wd, float m, float minusLr) {
        float[] w = weights;
        float[] b = momenta;
        for (int i = 0; i < n; i++) {
            float d = Math.fma(wd, w[i], g[from + i]);
            float buf = b[i] * m + d; // add_(d_p, alpha=1): one rounding, as the fma would make
            b[i] = buf;
            w[i] = Math.fma(minusLr, Math.fma(m, buf, d), w[i]);
        }
    }

    private void general(float[] g, int from, int n, Step step, boolean usesMomentum) {
        float[] w = weights;
        float[] b = momenta;
        float wd = step.weightDecay();
        float m = step.momentum();
        float keep = 1f - step.dampening();
        float minusLr = -step.lr();
        for (int i = 0; i < n; i++) {
            float d = wd == 0 ? g[from + i] : Math.fma(wd, w[i], g[from + i]);
            if (usesMomentum) {
                float buf = step.first() ? d : Math.fma(keep, d, b[i] * m);
                b[i] = buf;
                d = step.nesterov() ? Math.fma(m, buf, d) : buf;
            }
            w[i] = Math.fma(minusLr, d, w[i]);
        }
    }
}
