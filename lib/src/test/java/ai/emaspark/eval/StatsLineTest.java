package ai.emaspark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatsLineTest {
    @Test
    void readsBackWhatJsonStatsWrites() {
        String line = JsonStats.json(EpochStats.test("test_ema_epoch", 2, 100, 31.5, 9.25, 30.0, 9.0, 12.0));
        StatsLine stats = StatsLine.parse(line).orElseThrow();
        assertEquals("test_ema_epoch", stats.type());
        assertEquals("3/100", stats.epochLabel());
        assertEquals(2, stats.epochIndex());
        assertEquals(31.5, stats.value("top1_err"));
    }

    @Test
    void minOverATypeIgnoresOtherTypesAndLinesThatAreNotStats() {
        List<String> lines = List.of(JsonStats.json(Map.of("_type", "test_epoch", "epoch", "1/3", "top1_err", 40.0)),
                "not json", JsonStats.json(Map.of("_type", "test_ema_epoch", "epoch", "1/3", "top1_err", 10.0)),
                JsonStats.json(Map.of("_type", "test_epoch", "epoch", "2/3", "top1_err", 35.5)));
        assertEquals(35.5, StatsLine.min(lines, "test_epoch", "top1_err"));
        assertEquals(100.0, StatsLine.min(lines, "train_epoch", "loss"), "none: pycls's worst");
        assertTrue(StatsLine.parse("[1, 2]").isEmpty());
        assertEquals(-1, StatsLine.parse("{\"_type\":\"x\"}").orElseThrow().epochIndex());
    }
}
