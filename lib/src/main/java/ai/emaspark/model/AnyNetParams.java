package ai.emaspark.model;

import ai.emaspark.config.Config;
import java.io.Serializable;
import java.util.List;

/**
 * An AnyNet: stem, block type, per-stage depths, widths, strides, bottleneck multipliers and group
 * widths, head width and SE ratio (pycls's AnyNet.get_params; RegNet produces one too).
 */
public record AnyNetParams(String stemType, int stemW, String blockType, List<Integer> depths, List<Integer> widths,
                           List<Integer> strides, List<Double> botMuls, List<Integer> groupWs, int headW, double seR)
    implements Serializable {

    public static AnyNetParams of(Config cfg) {
        List<Integer> depths = cfg.getIntList("ANYNET.DEPTHS");
        List<Double> botMuls = cfg.getFloatList("ANYNET.BOT_MULS");
        List<Integer> groupWs = cfg.getIntList("ANYNET.GROUP_WS");
        return new AnyNetParams(cfg.getString("ANYNET.STEM_TYPE"), cfg.getInt("ANYNET.STEM_W"),
            cfg.getString("ANYNET.BLOCK_TYPE"), depths, cfg.getIntList("ANYNET.WIDTHS"), cfg.getIntList("ANYNET.STRIDES"),
            botMuls.isEmpty() ? null : botMuls, groupWs.isEmpty() ? null : groupWs, cfg.getInt("ANYNET.HEAD_W"),
            cfg.getBool("ANYNET.SE_ON") ? cfg.getFloat("ANYNET.SE_R") : 0);
    }
}
