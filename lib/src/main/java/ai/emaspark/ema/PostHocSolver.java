package ai.emaspark.ema;

import ai.emaspark.model.ModelState;
import java.util.List;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.RealVector;
import org.apache.commons.math3.linear.SingularValueDecomposition;

/**
 * Post-hoc EMA (Karras et al. 2024, appendix C.3, Algorithm 3): the combination Σ xᵢ·θᵢ of stored
 * power-EMA states that best matches an EMA profile nobody tracked. Each stored state is a profile
 * p_{γ,t}(τ) = (γ+1) τ^γ / t^(γ+1) on [0, t]; the coefficients minimise ‖p_target − Σ xᵢ pᵢ‖ in L²,
 * the normal equations A x = b with A_ij = ⟨pᵢ, pⱼ⟩ and bᵢ = ⟨pᵢ, p_target⟩ in closed form, solved by
 * singular value decomposition (the minimum-norm least-squares solution when snapshots repeat).
 */
public final class PostHocSolver {
    private PostHocSolver() {}

    /** A stored power EMA: its exponent and the number of updates it had taken. */
    public record Profile(double gamma, long t) {
        public Profile {
            if (!(gamma >= 0) || Double.isInfinite(gamma) || t < 1) {
                throw new IllegalArgumentException("a power EMA profile needs gamma >= 0 and t >= 1, not " + gamma + ", " + t);
            }
        }

        public static Profile ofSigmaRel(double sigmaRel, long t) {
            return new Profile(PowerEma.gamma(sigmaRel), t);
        }
    }

    /**
     * The coefficients for the stored states, the condition number of A (how much rounding in the
     * stored states can be amplified), and how far the matched profile is from the target's
     * (‖p_target − Σ xᵢ pᵢ‖ / ‖p_target‖).
     */
    public record Solution(double[] coefficients, double conditionNumber, double profileError) {}

    /** ⟨p_a, p_b⟩ = ∫₀^min(ta,tb) p_a p_b dτ = (γa+1)(γb+1) min^(γa+γb+1) / ((γa+γb+1) ta^(γa+1) tb^(γb+1)). */
    static double dot(Profile a, Profile b) {
        Profile early = a.t() <= b.t() ? a : b;
        Profile late = early == a ? b : a;
        // min^(γa+γb+1) / (ta^(γa+1) tb^(γb+1)) = (t_early / t_late)^γ_late / t_late, without overflow
        double ratio = (double) early.t() / late.t();
        return (a.gamma() + 1) * (b.gamma() + 1) / (a.gamma() + b.gamma() + 1) * Math.pow(ratio, late.gamma()) / late.t();
    }

    public static Solution solve(List<Profile> stored, Profile target) {
        int n = stored.size();
        if (n == 0) {
            throw new IllegalArgumentException("post-hoc EMA needs at least one stored power EMA state");
        }
        double[][] a = new double[n][n];
        double[] b = new double[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a[i][j] = dot(stored.get(i), stored.get(j));
            }
            b[i] = dot(stored.get(i), target);
        }
        SingularValueDecomposition svd = new SingularValueDecomposition(new Array2DRowRealMatrix(a, false));
        RealVector x = svd.getSolver().solve(new ArrayRealVector(b, false));
        double rr = dot(target, target);
        double fit = 0;
        for (int i = 0; i < n; i++) {
            double ax = 0;
            for (int j = 0; j < n; j++) {
                ax += a[i][j] * x.getEntry(j);
            }
            fit += x.getEntry(i) * (ax - 2 * b[i]);
        }
        return new Solution(x.toArray(), svd.getConditionNumber(), Math.sqrt(Math.max(0, rr + fit) / rr));
    }

    /**
     * Σ xᵢ·statesᵢ for every float tensor, summed in double and rounded once to float32; int64 buffers
     * (BN's batch counts) from the last state.
     */
    public static ModelState combine(List<ModelState> states, double[] coefficients) {
        if (states.isEmpty() || states.size() != coefficients.length) {
            throw new IllegalArgumentException(states.size() + " states for " + coefficients.length + " coefficients");
        }
        Sum sum = new Sum(states.get(0));
        for (int s = 0; s < states.size(); s++) {
            sum.add(coefficients[s], states.get(s));
        }
        return sum.result();
    }

    /**
     * A combination built one stored state at a time, so that a tool reconstructing several widths
     * holds one stored state and a double per float per width, never every stored state at once.
     */
    public static final class Sum {
        private final double[] sum;
        private ModelState last;

        public Sum(ModelState shape) {
            this.sum = new double[shape.floats().length];
            this.last = shape;
        }

        /** Adds x·state (states in stored order: the last one added gives the int64 buffers). */
        public void add(double x, ModelState state) {
            if (!state.layout().equals(last.layout())) {
                throw new IllegalArgumentException("stored power EMA states have different layouts");
            }
            float[] w = state.floats();
            for (int i = 0; i < sum.length; i++) {
                sum[i] += x * w[i];
            }
            last = state;
        }

        public ModelState result() {
            ModelState out = last.copy();
            float[] f = out.floats();
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) sum[i];
            }
            return out;
        }
    }
}
