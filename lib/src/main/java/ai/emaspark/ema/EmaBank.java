package ai.emaspark.ema;

import ai.emaspark.model.ModelState;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Every EMA the driver keeps, fed the same weight snapshots: pycls's ({@link EmaRule}, unchanged) and
 * the power-function EMAs of {@code EMA.POWER_SIGMA_RELS} ({@link PowerEma}), whose update count t
 * runs over the whole run's snapshot stream (1 at the first snapshot ever applied). A bank is staged
 * per attempt as pycls's EMA alone was: a copy of the epoch's starting bank, kept only when the
 * attempt succeeded.
 */
public final class EmaBank {
    /** One power-function EMA: its width, its exponent and its state. */
    public record Power(double sigmaRel, double gamma, ModelState state) {
        /** Its name in checkpoint entries and stats lines: "p" and σ_rel to 3 decimals, e.g. p0.050. */
        public String name() {
            return name(sigmaRel);
        }

        public static String name(double sigmaRel) {
            return String.format(Locale.ROOT, "p%.3f", sigmaRel);
        }
    }

    private final ModelState pycls;
    private final List<Power> powers;
    private long updates;

    /**
     * @param pycls pycls's EMA
     * @param powers the power EMAs, in EMA.POWER_SIGMA_RELS order
     * @param updates snapshots the power EMAs have taken so far in the run (their t)
     */
    public EmaBank(ModelState pycls, List<Power> powers, long updates) {
        if (updates < 0) {
            throw new IllegalArgumentException("power EMA update count " + updates + " is negative");
        }
        this.pycls = pycls;
        this.powers = List.copyOf(powers);
        this.updates = updates;
    }

    /** pycls's EMA alone (no EMA.POWER_SIGMA_RELS). */
    public static EmaBank of(ModelState pycls) {
        return new EmaBank(pycls, List.of(), 0);
    }

    /** A run's start: pycls's EMA and every power EMA equal to the initial weights, no update taken. */
    public static EmaBank start(ModelState init, List<Double> sigmaRels) {
        List<Power> powers = new ArrayList<>();
        for (double sigmaRel : sigmaRels) {
            powers.add(new Power(sigmaRel, PowerEma.gamma(sigmaRel), init.copy()));
        }
        return new EmaBank(init.copy(), powers, 0);
    }

    public ModelState pycls() {
        return pycls;
    }

    public List<Power> powers() {
        return powers;
    }

    /** Snapshots the power EMAs have taken in the whole run: their t after the last update. */
    public long updates() {
        return updates;
    }

    /** One snapshot: pycls's update with {@code alpha}, and update t+1 of every power EMA. */
    public void apply(ModelState weights, double alpha) {
        EmaRule.update(pycls, weights, alpha);
        updates++;
        for (Power power : powers) {
            PowerEma.update(power.state(), weights, power.gamma(), updates);
        }
    }

    public EmaBank copy() {
        List<Power> copies = new ArrayList<>();
        for (Power power : powers) {
            copies.add(new Power(power.sigmaRel(), power.gamma(), power.state().copy()));
        }
        return new EmaBank(pycls.copy(), copies, updates);
    }
}
