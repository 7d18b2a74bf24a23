package ai.emaspark.spark;

import ai.emaspark.comm.RingAllReduce;
import ai.emaspark.config.Config;
import ai.emaspark.data.Batch;
import ai.emaspark.data.BatchLoader;
import ai.emaspark.data.ShardFeeds;
import ai.emaspark.data.ShardPlan;
import ai.emaspark.data.ImageTransform;
import ai.emaspark.ema.EmaRule;
import ai.emaspark.ema.EmaSnapshotSender;
import ai.emaspark.eval.JsonStats;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import ai.emaspark.train.StepStats;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.BarrierTaskContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One rank of an epoch's barrier stage: rendezvous once through Spark (allGather of host:port),
 * then train in lockstep with the other ranks, averaging gradients over the TCP ring every
 * iteration; rank 0 streams weight snapshots to the driver's EMA service.
 */
final class RankTask {
    private static final Logger LOG = LoggerFactory.getLogger(RankTask.class);
    private static final Duration RENDEZVOUS_TIMEOUT = Duration.ofMinutes(5);
    /** Appended to the gradients so the all-reduce also averages the replicas' stats. */
    private static final int STATS = 3;

    private RankTask() {}

    static RankResult run(EpochInputs in, BarrierTaskContext context) throws IOException {
        int rank = context.partitionId();
        String host = TaskDevices.localHost();
        try (ServerSocketChannel server = RingAllReduce.listen(host)) {
            int port = ((InetSocketAddress) server.getLocalAddress()).getPort();
            List<String> addresses = Arrays.asList(context.allGather(host + ":" + port));
            try (RingAllReduce ring = RingAllReduce.connect(rank, addresses, server, RENDEZVOUS_TIMEOUT)) {
                return train(in, rank, in.attempt(), ring, context);
            }
        }
    }

    private static RankResult train(EpochInputs in, int rank, int attempt, RingAllReduce ring, BarrierTaskContext context)
            throws IOException {
        Config cfg = in.cfg();
        ShardPlan plan = in.plan();
        Configuration conf = HadoopSettings.configuration(in.hadoopSettings());
        List<org.apache.hadoop.fs.Path> shards = in.shards().stream().map(org.apache.hadoop.fs.Path::new).toList();
        int batchSize = cfg.getInt("TRAIN.BATCH_SIZE") / plan.worldSize();
        int imSize = cfg.getInt("TRAIN.IM_SIZE");
        int period = cfg.getInt("OPTIM.EMA_UPDATE_PERIOD");
        FaultInjection faults = FaultInjection.fromEnvironment();
        long start = System.nanoTime();
        try (Replica replica = new Replica(ModelSpec.of(cfg), SgdSettings.of(cfg), cfg.getFloat("TRAIN.LABEL_SMOOTHING"),
                TaskDevices.of(context));
                BatchLoader loader = new BatchLoader(ShardFeeds.training(plan, rank, shards, conf), true, batchSize,
                        ImageTransform.train(imSize, cfg.getFloat("TRAIN.PCA_STD"), cfg.getInt("RNG_SEED"), in.epoch()), cfg.getInt("DATA_LOADER.NUM_WORKERS"));
                EmaSnapshotSender sender = rank == 0 && period > 0
                        ? new EmaSnapshotSender(in.emaHost(), in.emaPort(), in.epoch(), attempt) : null) {
            replica.load(in.model());
            replica.loadOptimizer(in.optimizer());
            int gradientCount = replica.tensors().layout().gradientCount();
            float[] exchange = new float[gradientCount + STATS];
            Batch batch = Batch.allocate(batchSize, imSize);
            double[] sums = new double[STATS];
            for (int iter = 0; iter < plan.iterations(); iter++) {
                batch = loader.next(batch);
                faults.maybeFail(in.epoch(), rank, iter, attempt);
                StepStats stats = replica.forwardBackward(batch);
                replica.readGradients(exchange);
                exchange[gradientCount] = (float) stats.loss();
                exchange[gradientCount + 1] = 100f * (1f - (float) stats.top1Hits() / stats.count());
                exchange[gradientCount + 2] = 100f * (1f - (float) stats.top5Hits() / stats.count());
                ring.allReduceMean(exchange);
                replica.step(exchange, in.lr());
                for (int s = 0; s < STATS; s++) {
                    sums[s] += exchange[gradientCount + s];
                }
                if (sender != null && EmaRule.updatesAt(period, iter)) {
                    sender.submit(iter, replica.read());
                }
                logIteration(in, rank, iter, plan.iterations(), exchange, gradientCount);
            }
            int sent = sender == null ? 0 : sender.flush();
            double seconds = (System.nanoTime() - start) / 1e9;
            return new RankResult(rank, attempt, plan.iterations(), sums[0], sums[1], sums[2], seconds, loader.skipped(),
                    rank == 0 ? replica.read() : null, rank == 0 ? replica.optimizerState() : null, sent);
        }
    }

    /** pycls's train_iter stats, every LOG_PERIOD iterations, in rank 0's executor log. */
    private static void logIteration(EpochInputs in, int rank, int iter, int iterations, float[] exchange, int offset) {
        Config cfg = in.cfg();
        if (rank != 0 || (iter + 1) % cfg.getInt("LOG_PERIOD") != 0) {
            return;
        }
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("_type", "train_iter");
        stats.put("epoch", JsonStats.epochLabel(in.epoch(), cfg.getInt("OPTIM.MAX_EPOCH")));
        stats.put("iter", (iter + 1) + "/" + iterations);
        stats.put("loss", (double) exchange[offset]);
        stats.put("top1_err", (double) exchange[offset + 1]);
        stats.put("top5_err", (double) exchange[offset + 2]);
        stats.put("lr", in.lr());
        LOG.info(JsonStats.line(stats));
    }
}
