package ai.emaspark.model;

import ai.emaspark.config.Config;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * pycls's RegNet ({@code models/regnet.py}): per-block widths w_0 + w_a * j quantised to powers of
 * w_m (multiples of 8), grouped into stages, made compatible with bottleneck and group widths
 * ({@code adjust_block_compatibility}), then built as an AnyNet.
 */
public final class RegNet {
    private static final int QUANTUM = 8;

    private RegNet() {
    }

    public static AnyNetParams params(Config cfg) {
        List<int[]> stages = generate(cfg.getFloat("REGNET.WA"), cfg.getInt("REGNET.W0"), cfg.getFloat("REGNET.WM"),
            cfg.getInt("REGNET.DEPTH"));
        List<Integer> ws = new ArrayList<>();
        List<Integer> ds = new ArrayList<>();
        for (int[] stage : stages) {
            ws.add(stage[0]);
            ds.add(stage[1]);
        }
        int n = ws.size();
        double botMul = cfg.getFloat("REGNET.BOT_MUL");
        List<Double> bs = new ArrayList<>(Collections.nCopies(n, botMul));
        List<Integer> gs = new ArrayList<>(Collections.nCopies(n, cfg.getInt("REGNET.GROUP_W")));
        adjustBlockCompatibility(ws, bs, gs);
        return new AnyNetParams(cfg.getString("REGNET.STEM_TYPE"), cfg.getInt("REGNET.STEM_W"),
            cfg.getString("REGNET.BLOCK_TYPE"), ds, ws, Collections.nCopies(n, cfg.getInt("REGNET.STRIDE")), bs, gs,
            cfg.getInt("REGNET.HEAD_W"), cfg.getBool("REGNET.SE_ON") ? cfg.getFloat("REGNET.SE_R") : 0);
    }

    /** generate_regnet: {width, depth} per stage, in order of width (numpy's unique sorts). */
    static List<int[]> generate(double wA, int w0, double wM, int d) {
        if (!(wA >= 0 && w0 > 0 && wM > 1 && w0 % QUANTUM == 0)) {
            throw new IllegalArgumentException("RegNet needs WA >= 0, W0 > 0 and a multiple of 8, WM > 1");
        }
        java.util.TreeMap<Integer, Integer> counts = new java.util.TreeMap<>();
        for (int j = 0; j < d; j++) {
            double wCont = j * wA + w0;
            double k = Math.rint(Math.log(wCont / w0) / Math.log(wM));
            double wAll = w0 * Math.pow(wM, k);
            int w = (int) Math.rint(wAll / QUANTUM) * QUANTUM;
            counts.merge(w, 1, Integer::sum);
        }
        List<int[]> stages = new ArrayList<>();
        counts.forEach((w, count) -> stages.add(new int[] {w, count}));
        return stages;
    }

    /** adjust_block_compatibility, in place: widths a multiple of the group width after the bottleneck. */
    static void adjustBlockCompatibility(List<Integer> ws, List<Double> bs, List<Integer> gs) {
        for (int i = 0; i < ws.size(); i++) {
            double b = bs.get(i);
            int v = (int) Math.max(1, ws.get(i) * b);
            int g = Math.min(gs.get(i), v);
            int m = b > 1 ? lcm(g, (int) b) : g;
            v = Math.max(m, (int) (Math.rint((double) v / m) * m));
            ws.set(i, (int) (v / b));
            gs.set(i, g);
            if (ws.get(i) * b % g != 0) {
                throw new IllegalArgumentException("incompatible RegNet widths after adjustment");
            }
        }
    }

    private static int lcm(int a, int b) {
        return a / java.math.BigInteger.valueOf(a).gcd(java.math.BigInteger.valueOf(b)).intValue() * b;
    }
}
