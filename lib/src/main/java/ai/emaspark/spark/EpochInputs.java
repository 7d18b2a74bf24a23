package ai.emaspark.spark;

import ai.emaspark.config.Config;
import ai.emaspark.data.EpochPlan;
import ai.emaspark.model.ModelState;
import ai.emaspark.train.OptimizerState;
import java.io.Serializable;

/** What every rank of one epoch's barrier stage starts from; broadcast once per epoch. */
public record EpochInputs(
        Config cfg,
        int epoch,
        double lr,
        EpochPlan plan,
        ModelState model,
        OptimizerState optimizer,
        String emaHost,
        int emaPort) implements Serializable {}
