package ai.emaspark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TrainMeterTest {
    @Test
    void windowMedianIsNumpysOverTheLastWindowValues() {
        ScalarMeter meter = new ScalarMeter(4);
        for (double v : new double[] {100, 5, 1, 3, 2}) {
            meter.add(v);
        }
        assertEquals(2.5, meter.windowMedian(), 0.0, "median of 5, 1, 3, 2 (100 left the window)");
        meter.add(0);
        assertEquals(1.5, meter.windowMedian(), 0.0, "median of 1, 3, 2, 0");
        assertEquals(111 / 6.0, meter.globalAverage(), 1e-12);
    }

    @Test
    void iterStatsHavePyclsKeysAndAnEtaForTheEpochAndTheRun() {
        // epoch index 1 of 3, 10 iterations per epoch, 2 s per iteration, 64 images per iteration
        TrainMeter meter = new TrainMeter(1, 3, 10, 64, 2);
        meter.update(4.0, 90, 50, 0.1, 1.0);
        meter.update(2.0, 80, 40, 0.1, 3.0);
        meter.update(3.0, 70, 30, 0.1, 2.0);
        Map<String, Object> stats = meter.iterStats(2);
        assertEquals(false, meter.logsAt(2));
        assertEquals(true, meter.logsAt(3), "every LOG_PERIOD-th (2) iteration");
        assertEquals("train_iter", stats.get("_type"));
        assertEquals("2/3", stats.get("epoch"));
        assertEquals("3/10", stats.get("iter"));
        assertEquals(2.0, (double) stats.get("time_avg"), 1e-12);
        assertEquals(2.0, (double) stats.get("time_diff"), 1e-12);
        assertEquals(2.5, (double) stats.get("loss"), 1e-12, "median of the last LOG_PERIOD (2) values");
        assertEquals(75.0, (double) stats.get("top1_err"), 1e-12);
        assertEquals(32.0, (double) stats.get("images_per_sec"), 1e-12);
        // 7 iterations left in this epoch and 10 in the last: 34 s, as pycls's time_string
        assertEquals("00,00:00:14", stats.get("eta_epoch"));
        assertEquals("00,00:00:34", stats.get("eta"));
    }

    @Test
    void timeStringIsPyclss() {
        assertEquals("01,02:03:04", TrainMeter.timeString(86400 + 2 * 3600 + 3 * 60 + 4.9));
        assertEquals("00,00:00:00", TrainMeter.timeString(-1));
    }
}
