package ai.emaspark.model;

/**
 * pycls's model complexity ({@code blocks.py} *_cx functions): FLOPs (multiply-adds), parameters
 * and activations, accumulated layer by layer at the current feature-map size, with the same
 * integer arithmetic. {@link NetBuilder} counts every layer it makes, so the figures describe the
 * network actually built.
 */
public final class Complexity {
    private long h;
    private long w;
    private long flops;
    private long params;
    private long acts;

    Complexity(int imageSize) {
        this.h = imageSize;
        this.w = imageSize;
    }

    public long flops() {
        return flops;
    }

    public long params() {
        return params;
    }

    public long acts() {
        return acts;
    }

    void conv(int wIn, int wOut, int k, int stride, int groups, boolean bias) {
        h = (h - 1) / stride + 1;
        w = (w - 1) / stride + 1;
        flops += (long) k * k * wIn * wOut * h * w / groups + (bias ? wOut : 0);
        params += (long) k * k * wIn * wOut / groups + (bias ? wOut : 0);
        acts += wOut * h * w;
    }

    void norm(int wIn) {
        params += 2L * wIn;
    }

    void pool(int wIn, int stride) {
        h = (h - 1) / stride + 1;
        w = (w - 1) / stride + 1;
        acts += wIn * h * w;
    }

    void gap() {
        h = 1;
        w = 1;
    }

    void linear(int wIn, int wOut, boolean bias) {
        flops += (long) wIn * wOut + (bias ? wOut : 0);
        params += (long) wIn * wOut + (bias ? wOut : 0);
        acts += wOut;
    }

    /** The feature-map size, to restore after a side branch (projection, SE) as pycls does. */
    long[] size() {
        return new long[] {h, w};
    }

    void restore(long[] size) {
        h = size[0];
        w = size[1];
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%.3f GF, %.3f M params, %.3f M acts", flops / 1e9, params / 1e6,
            acts / 1e6);
    }
}
