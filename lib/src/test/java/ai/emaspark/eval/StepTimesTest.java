package ai.emaspark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.eval.StepTimes.Phase;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A step's breakdown: laps back to back add up to the wall time; lines report averages per iteration. */
class StepTimesTest {
    @Test
    void lapsAddUpToTheStepsWallTimeAndTheWaitIsTakenOutOfTheExchange() throws Exception {
        StepTimes times = new StepTimes();
        long start = System.nanoTime();
        for (int iter = 0; iter < 2; iter++) {
            times.start();
            Thread.sleep(20);
            times.lap(Phase.DATA);
            Thread.sleep(40);
            times.lap(Phase.EXCHANGE);
            times.move(Phase.EXCHANGE, Phase.WAIT, 10_000_000); // 10 ms of it waited for the slowest rank
            times.lap(Phase.STEP);
            times.iterationDone();
        }
        double wall = (System.nanoTime() - start) / 1e9 / 2;
        double sum = times.perIteration().values().stream().mapToDouble(v -> (double) v).sum();
        assertEquals(wall, sum, 0.002, "the phases add up to the step");
        assertEquals(0.010, times.perIteration(Phase.WAIT), 1e-9);
        assertTrue(times.perIteration(Phase.EXCHANGE) >= 0.029, "the exchange without the wait");
        assertTrue(times.perIteration(Phase.DATA) >= 0.019);
        assertEquals(List.of("time_data", "time_fwd_bwd", "time_grads_out", "time_wait_slowest", "time_exchange", "time_step",
                "time_ema"), List.copyOf(times.perIteration().keySet()), "in the order a step runs them");
    }

    @Test
    void aTrainIterLineShowsTheIterationsSinceThePreviousLine() throws Exception {
        StepTimes times = new StepTimes();
        TrainMeter meter = new TrainMeter(0, 1, 4, 64, 2);
        for (int iter = 0; iter < 4; iter++) {
            times.start();
            Thread.sleep(iter < 2 ? 30 : 5); // slow data in the first window, fast in the second
            times.lap(Phase.DATA);
            times.iterationDone();
            meter.update(1, 1, 1, 0.1, 0.01);
            if (meter.logsAt(iter)) {
                Map<String, Object> stats = meter.iterStats(iter, times);
                double data = (double) stats.get("time_data");
                assertTrue(iter == 1 ? data >= 0.029 : data < 0.025, "iteration " + (iter + 1) + ": " + data);
            }
        }
        assertEquals(4, times.iterations());
    }
}
