package ai.emaspark.spark;

import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointException;
import ai.emaspark.checkpoint.NumGpusChange;
import ai.emaspark.config.Config;
import ai.emaspark.ema.EmaBank;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.PyclsInit;
import ai.emaspark.model.StateLayout;
import ai.emaspark.train.OptimizerState;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The mutable state carried from epoch to epoch on the driver, and where a run starts it from. */
final class RunState {
    private static final Logger LOG = LoggerFactory.getLogger(TrainDriver.class); // its lines are the driver's

    final int nextEpoch;
    long step;
    ModelState model;
    /** pycls's EMA and the power EMAs. */
    EmaBank emas;
    OptimizerState optimizer;
    /** The run's resumes on another NUM_GPUS, kept in every checkpoint's meta.json. */
    final List<NumGpusChange> numGpusChanges;

    RunState(int nextEpoch, long step, ModelState model, EmaBank emas, OptimizerState optimizer,
            List<NumGpusChange> numGpusChanges) {
        this.nextEpoch = nextEpoch;
        this.numGpusChanges = numGpusChanges;
        this.step = step;
        this.model = model;
        this.emas = emas;
        this.optimizer = optimizer;
    }

    /** Model, EMA and optimizer to start from: the last committed checkpoint, or pycls's init. */
    static RunState start(Config cfg, StateLayout layout, OutDir out) throws IOException {
        Optional<Checkpoint> last = out.resumePoint(cfg, layout);
        if (last.isPresent()) {
            Checkpoint checkpoint = last.get();
            List<String> powers = checkpoint.emas().powers().stream().map(EmaBank.Power::name).toList();
            List<String> wanted = cfg.getFloatList("EMA.POWER_SIGMA_RELS").stream().map(EmaBank.Power::name).toList();
            Path dir = new Path(out.store.directory(), Checkpoint.directoryName(checkpoint.epoch()));
            if (!powers.equals(wanted)) { // the stored config matched: its meta.json must have lost them
                throw new CheckpointException(dir + " holds power EMAs " + powers + " but EMA.POWER_SIGMA_RELS asks for "
                        + wanted + ": its meta.json does not match its config; resume from an earlier checkpoint");
            }
            LOG.info("resuming from {} (epoch {} done): model, EMA{} and optimizer restored", dir, checkpoint.epoch() + 1,
                    powers.isEmpty() ? "" : ", power EMAs " + powers + " (after " + checkpoint.emas().updates() + " updates)");
            return new RunState(checkpoint.epoch() + 1, checkpoint.step(), checkpoint.model(), checkpoint.emas(),
                    checkpoint.optimizer(), checkpoint.numGpusChanges());
        }
        ModelState init = PyclsInit.initialize(layout, cfg.getInt("RNG_SEED"), cfg.getBool("BN.ZERO_INIT_FINAL_GAMMA"));
        LOG.info("starting from pycls init (RNG_SEED {}): {} parameters in {} tensors", cfg.getInt("RNG_SEED"),
                layout.parameterCount(), layout.tensors().size());
        return new RunState(0, 0, init, EmaBank.start(init, cfg.getFloatList("EMA.POWER_SIGMA_RELS")),
                OptimizerState.fresh(layout.gradientCount()), List.of());
    }
}
