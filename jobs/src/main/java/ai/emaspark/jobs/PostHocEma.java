package ai.emaspark.jobs;

import ai.emaspark.checkpoint.CheckpointException;
import ai.emaspark.config.ConfigException;
import ai.emaspark.data.DatasetException;
import ai.emaspark.spark.PostHocDriver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Post-hoc EMA of a run that stored power EMAs (EMA.POWER_SIGMA_RELS with EMA.POSTHOC_PERIOD):
 * {@code PostHocEma --run OUT_DIR [--sigma-rel 0.07] [--sweep 0.05,0.20,0.01] [--eval]}. Each width is
 * reconstructed from the stored states (Karras et al. 2024, Algorithm 3) and written to
 * OUT_DIR/posthoc/reconstructed_r&lt;sigma_rel&gt;/; a table prints the fit of each, and with --eval
 * (through spark-submit) its top-1 error on the validation split after precise BN. Bad input: one
 * "emaspark: error:" line, exit 2, before any Spark stage.
 */
public final class PostHocEma {
    private static final String USAGE = "usage: PostHocEma --run OUT_DIR [--sigma-rel S] [--sweep FROM,TO,STEP] [--eval]";

    private PostHocEma() {}

    public static void main(String[] args) {
        PostHocDriver driver;
        try {
            driver = PostHocDriver.plan(parse(args), new Configuration());
        } catch (ConfigException | CheckpointException e) {
            fail(e.getMessage());
            return;
        } catch (IOException e) {
            fail("cannot read the run: " + e);
            return;
        }
        try {
            driver.run();
        } catch (DatasetException e) {
            fail(e.getMessage());
        } catch (IOException e) {
            throw new IllegalStateException("post-hoc EMA failed: " + e.getMessage(), e);
        }
    }

    static PostHocDriver.Settings parse(String[] args) {
        String run = null;
        TreeSet<Double> widths = new TreeSet<>();
        boolean eval = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--run" -> run = value(args, ++i, "--run");
                case "--sigma-rel" -> widths.add(number(value(args, ++i, "--sigma-rel"), "--sigma-rel"));
                case "--sweep" -> widths.addAll(sweep(value(args, ++i, "--sweep")));
                case "--eval" -> eval = true;
                default -> throw new ConfigException("unknown option " + args[i] + "; " + USAGE);
            }
        }
        if (run == null || widths.isEmpty()) {
            throw new ConfigException("--run and a --sigma-rel or --sweep are required, e.g. --run hdfs://nn:8020/runs/r50 "
                    + "--sweep 0.05,0.20,0.01 --eval");
        }
        return new PostHocDriver.Settings(new Path(run), new ArrayList<>(widths), eval);
    }

    /** FROM,TO,STEP: FROM, FROM+STEP, ... up to TO (included when it is reached within rounding). */
    static List<Double> sweep(String text) {
        String[] parts = text.split(",");
        if (parts.length != 3) {
            throw new ConfigException("--sweep needs FROM,TO,STEP such as 0.05,0.20,0.01, not " + text);
        }
        double from = number(parts[0], "--sweep");
        double to = number(parts[1], "--sweep");
        double step = number(parts[2], "--sweep");
        if (!(step > 0) || to < from || (to - from) / step > 1000) {
            throw new ConfigException("--sweep " + text + " needs FROM <= TO and a STEP > 0 giving at most 1000 widths");
        }
        List<Double> widths = new ArrayList<>();
        for (int k = 0; from + k * step <= to + 1e-9; k++) {
            widths.add(Math.round((from + k * step) * 1e6) / 1e6);
        }
        return widths;
    }

    private static double number(String text, String option) {
        try {
            return Double.parseDouble(text.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(option + " needs numbers such as 0.07, not " + text);
        }
    }

    private static String value(String[] args, int index, String option) {
        if (index >= args.length) {
            throw new ConfigException(option + " needs a value");
        }
        return args[index];
    }

    private static void fail(String message) {
        System.err.println("emaspark: error: " + message);
        System.exit(2);
    }
}
