package ai.emaspark.ema;

import ai.emaspark.model.ModelState;

/**
 * A power-function EMA profile (Karras et al. 2024, "Analyzing and Improving the Training Dynamics of
 * Diffusion Models", section 3.1 and appendix C): after t updates it averages the weights it was fed
 * with density p(τ) = (γ+1) τ^γ / t^(γ+1) over [0, t], so its length grows with the run instead of
 * being fixed as pycls's EMA_ALPHA is. Each update is ema = β(t)·ema + (1 − β(t))·w with
 * β(t) = (1 − 1/t)^(γ+1), t counted from 1 in updates of the snapshot stream (iterations 0, P, 2P, ...
 * of every epoch, P = OPTIM.EMA_UPDATE_PERIOD). Unrolled, update τ ends with the weight
 * (τ^(γ+1) − (τ−1)^(γ+1)) / t^(γ+1): exactly the profile's mass over [τ−1, τ].
 *
 * <p>A profile is named by its relative standard deviation σ_rel (its width as a fraction of t),
 * σ_rel = sqrt((γ+1) / ((γ+2)² (γ+3))); σ_rel 0.05 is γ ≈ 16.97, 0.10 is γ ≈ 6.94.
 */
public final class PowerEma {
    /** σ_rel of γ = 0 (a plain running mean): the widest profile whose density does not fall with τ. */
    public static final double MAX_SIGMA_REL = Math.sqrt(1.0 / 12.0);

    private PowerEma() {}

    /** σ_rel of exponent γ (γ ≥ 0). */
    public static double sigmaRel(double gamma) {
        if (!(gamma >= 0) || Double.isInfinite(gamma)) {
            throw new IllegalArgumentException("power EMA exponent " + gamma + " is not a finite number >= 0");
        }
        return Math.sqrt((gamma + 1) / ((gamma + 2) * (gamma + 2) * (gamma + 3)));
    }

    /**
     * The exponent γ ≥ 0 of relative width {@code sigmaRel}: σ_rel falls strictly with γ on [0, ∞), so
     * one root; found by bisection to the last bit.
     */
    public static double gamma(double sigmaRel) {
        if (!(sigmaRel > 0 && sigmaRel <= MAX_SIGMA_REL)) {
            throw new IllegalArgumentException("sigma_rel " + sigmaRel + " is not in (0, " + String.format("%.4f", MAX_SIGMA_REL)
                    + "]: wider profiles would weigh early weights more than late ones");
        }
        double lo = 0;
        double hi = 1;
        while (sigmaRel(hi) > sigmaRel) {
            hi *= 2; // σ_rel ≈ 1/γ for large γ
        }
        for (int i = 0; i < 200 && Math.nextUp(lo) < hi; i++) {
            double mid = 0.5 * (lo + hi);
            if (sigmaRel(mid) > sigmaRel) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return sigmaRel(lo) - sigmaRel <= sigmaRel - sigmaRel(hi) ? lo : hi;
    }

    /** The weight kept at update {@code t} (from 1): (1 − 1/t)^(γ+1); 0 at t = 1, so the first update copies. */
    public static double beta(double gamma, long t) {
        if (t < 1) {
            throw new IllegalArgumentException("power EMA updates count from 1, not " + t);
        }
        return Math.pow(1.0 - 1.0 / t, gamma + 1);
    }

    /**
     * Update {@code t} (from 1) of {@code ema} with {@code weights}: ema·β + w·(1 − β) for every float
     * tensor, in float32 like pycls's EMA; int64 buffers are copied.
     */
    public static void update(ModelState ema, ModelState weights, double gamma, long t) {
        if (!ema.layout().equals(weights.layout())) {
            throw new IllegalArgumentException("EMA and model states have different layouts");
        }
        double beta = beta(gamma, t);
        float keep = (float) beta;
        float take = (float) (1.0 - beta);
        float[] e = ema.floats();
        float[] w = weights.floats();
        for (int i = 0; i < e.length; i++) {
            e[i] = e[i] * keep + w[i] * take;
        }
        System.arraycopy(weights.longs(), 0, ema.longs(), 0, ema.longs().length);
    }
}
