package ai.emaspark.infer;

import ai.emaspark.checkpoint.CheckpointMeta;
import ai.emaspark.checkpoint.CheckpointStore;
import java.io.Serializable;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which weights of a checkpoint score images: {@link #EMA} (pycls's EMA; the model's own state in a
 * checkpoint written without one, as pycls loads it), {@link #MODEL}, {@link #BEST} (whichever of the
 * two has the lower top-1 error in meta.json; the EMA on a tie), or a power EMA of EMA.POWER_SIGMA_RELS
 * by name ({@code p0.100}).
 *
 * @param name ema, model, best or p&lt;sigma_rel to 3 decimals&gt;
 */
public record CheckpointEntry(String name) implements Serializable {
    public static final CheckpointEntry EMA = new CheckpointEntry("ema");
    public static final CheckpointEntry MODEL = new CheckpointEntry("model");
    public static final CheckpointEntry BEST = new CheckpointEntry("best");
    private static final Pattern POWER = Pattern.compile("p(0?\\.\\d+)");

    /** "ema", "model", "best", or a power EMA's name; "p0.1" means p0.100. */
    public static CheckpointEntry parse(String name) {
        String lower = name.trim().toLowerCase(Locale.ROOT);
        switch (lower) {
            case "ema":
                return EMA;
            case "model":
                return MODEL;
            case "best":
                return BEST;
            default:
                Matcher power = POWER.matcher(lower);
                if (power.matches()) {
                    return new CheckpointEntry(String.format(Locale.ROOT, "p%.3f", Double.parseDouble(power.group(1))));
                }
                throw new InferenceException("checkpoint entry '" + name + "' is not one of ema, model, best, or a power EMA "
                        + "of EMA.POWER_SIGMA_RELS such as p0.100");
        }
    }

    public boolean isPower() {
        return name.startsWith("p");
    }

    /**
     * The weights file this choice reads in a checkpoint with this meta.json: {@link CheckpointStore#EMA},
     * {@link CheckpointStore#MODEL} or a power EMA's entry, which the checkpoint must hold.
     */
    public String file(CheckpointMeta meta) {
        if (isPower()) {
            if (!meta.powers().containsKey(name)) {
                throw new InferenceException("the checkpoint has no power EMA " + name + (meta.powers().isEmpty()
                        ? " (its run kept none: EMA.POWER_SIGMA_RELS)" : " (it has " + String.join(", ", meta.powers().keySet()) + ")")
                        + ": choose ema, model, best" + (meta.powers().isEmpty() ? "" : " or one of those"));
            }
            return CheckpointStore.powerEntry(name);
        }
        if (this.equals(MODEL)) {
            return CheckpointStore.MODEL;
        }
        return this.equals(BEST) && meta.emaErr() > meta.testErr() ? CheckpointStore.MODEL : CheckpointStore.EMA;
    }

    @Override
    public String toString() {
        return name;
    }
}
