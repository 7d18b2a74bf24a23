package ai.emaspark.spark;

import ai.emaspark.model.ModelState;
import ai.emaspark.train.OptimizerState;
import ai.emaspark.eval.StepTimes;
import java.io.Serializable;
import java.util.List;

/**
 * One rank's report of an epoch. Rank 0 also returns the trained state (all ranks hold the same
 * weights; rank 0's BN statistics are kept, as DDP broadcasts rank 0's buffers) and how many EMA
 * snapshots it sent, so the driver can check that its EMA saw all of them. {@code address} is the
 * ring endpoint the rank advertised, {@code device} what it trained on (for the driver's log).
 */
public record RankResult(
        int rank,
        int attempt,
        String address,
        String device,
        int iterations,
        double lossSum,
        double top1ErrSum,
        double top5ErrSum,
        double seconds,
        List<String> skipped,
        ModelState model,
        OptimizerState optimizer,
        int snapshotsSent,
        StepTimes times) implements Serializable {}
