package ai.emaspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.checkpoint.TestErrors;
import ai.emaspark.ema.EmaBank;
import ai.emaspark.ema.PowerEma;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import ai.emaspark.model.TensorSpec;
import ai.emaspark.train.OptimizerState;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code Checkpoints list}'s table: pycls's columns as ever, and a top-1 column per power EMA only when a run kept some. */
class CheckpointsTest {
    private static final StateLayout LAYOUT = new StateLayout(List.of(new TensorSpec("head.fc.weight", new long[] {4}, false, true,
            TensorSpec.Role.LINEAR_WEIGHT)));

    @TempDir
    java.nio.file.Path tmp;

    private static ModelState state(float value) {
        return new ModelState(LAYOUT, new float[] {value, value, value, value}, new long[0]);
    }

    private static Checkpoint checkpoint(int epoch, EmaBank emas, Map<String, TestErrors> powerErrs) {
        return new Checkpoint(epoch, 10L * (epoch + 1), state(epoch), emas, OptimizerState.fresh(4), 40.0 - epoch, 5.0, 30.0 - epoch,
                2.5, "", List.of(), powerErrs);
    }

    @Test
    void aColumnPerPowerEmaOnlyWhenTheRunKeptSome() throws Exception {
        FileSystem fs = FileSystem.getLocal(new Configuration());
        CheckpointStore plain = new CheckpointStore(fs, new Path(tmp.resolve("plain").toUri()));
        plain.commit(checkpoint(0, EmaBank.of(state(9)), Map.of()));
        List<String> table = Checkpoints.table(plain, plain.committed());
        assertEquals("checkpoint          epoch     step   top1_err   top5_err   ema_top1   ema_top5         MB  verifies", table.get(0));
        assertEquals("model_epoch_0001        1       10     40.000      5.000     30.000      2.500        0.0  yes", table.get(1));

        CheckpointStore powers = new CheckpointStore(fs, new Path(tmp.resolve("powers").toUri()));
        EmaBank emas = new EmaBank(state(9), List.of(new EmaBank.Power(0.05, PowerEma.gamma(0.05), state(7)),
                new EmaBank.Power(0.10, PowerEma.gamma(0.10), state(8))), 10);
        powers.commit(checkpoint(0, emas, Map.of("p0.050", new TestErrors(0, 12.5, 1.0), "p0.100", new TestErrors(0, 20.0, 2.0))));
        powers.commit(checkpoint(1, emas, Map.of())); // EMA.EVAL_PERIOD skipped the power EMAs
        table = Checkpoints.table(powers, powers.committed());
        assertEquals("checkpoint          epoch     step   top1_err   top5_err   ema_top1   ema_top5 p0.050_top1 p0.100_top1"
                + "         MB  verifies", table.get(0));
        assertEquals("model_epoch_0001        1       10     40.000      5.000     30.000      2.500      12.500      20.000"
                + "        0.0  yes", table.get(1));
        assertEquals("model_epoch_0002        2       20     39.000      5.000     29.000      2.500     100.000     100.000"
                + "        0.0  yes", table.get(2));
    }
}
