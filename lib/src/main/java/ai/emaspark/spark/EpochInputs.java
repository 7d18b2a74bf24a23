package ai.emaspark.spark;

import ai.emaspark.config.Config;
import ai.emaspark.data.ShardPlan;
import java.util.List;
import ai.emaspark.model.ModelState;
import ai.emaspark.train.OptimizerState;
import java.io.Serializable;

/**
 * What every rank of one epoch's barrier stage starts from; broadcast once per attempt. {@code attempt}
 * counts the driver's tries of this epoch (a failed barrier result stage is not retried by Spark);
 * {@code emaPort} is the port the driver's EMA service got ({@code cluster.emaHost()} is its host).
 */
public record EpochInputs(
        Config cfg,
        int epoch,
        int attempt,
        double lr,
        ShardPlan plan,
        List<String> shards,
        ModelState model,
        OptimizerState optimizer,
        ClusterSettings cluster,
        SecretSource secret,
        int emaPort,
        java.util.Map<String, String> hadoopSettings) implements Serializable {}
