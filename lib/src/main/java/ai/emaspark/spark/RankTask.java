package ai.emaspark.spark;

import ai.emaspark.auth.RunSecret;
import ai.emaspark.comm.FloatSlab;
import ai.emaspark.comm.RingAllReduce;
import ai.emaspark.comm.RingAuth;
import ai.emaspark.config.Config;
import ai.emaspark.data.Batch;
import ai.emaspark.data.BatchLoader;
import ai.emaspark.data.ShardFeeds;
import ai.emaspark.data.ShardPlan;
import ai.emaspark.data.ImageLimits;
import ai.emaspark.data.ImageTransform;
import ai.emaspark.ema.EmaRule;
import ai.emaspark.ema.EmaSnapshotSender;
import ai.emaspark.eval.JsonStats;
import ai.emaspark.eval.StepTimes;
import ai.emaspark.eval.StepTimes.Phase;
import ai.emaspark.eval.TrainMeter;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import ai.emaspark.train.StepStats;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.apache.spark.BarrierTaskContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One rank of an epoch's barrier stage: builds its replica and starts its loader, then meets the
 * other ranks once through Spark (allGather of host:port) and trains in lockstep with them,
 * averaging gradients over the TCP ring every iteration; rank 0 streams weight snapshots to the
 * driver's EMA service.
 */
final class RankTask {
    private static final Logger LOG = LoggerFactory.getLogger(RankTask.class);
    private static final Duration RENDEZVOUS_TIMEOUT = Duration.ofMinutes(5);
    /** Appended to the gradients so the all-reduce also averages the replicas' stats. */
    private static final int STATS = 3;

    private RankTask() {}

    /** @param progress where rank 0 puts its train_iter lines (JSON) for the driver */
    static RankResult run(EpochInputs in, BarrierTaskContext context, Consumer<String> progress) throws IOException {
        int rank = context.partitionId();
        Config cfg = in.cfg();
        ShardPlan plan = in.plan();
        int batchSize = cfg.getInt("TRAIN.BATCH_SIZE") / plan.worldSize();
        int imSize = cfg.getInt("TRAIN.IM_SIZE");
        int period = cfg.getInt("OPTIM.EMA_UPDATE_PERIOD");
        TaskDevices.Choice device = TaskDevices.choose(context);
        List<org.apache.hadoop.fs.Path> shards = in.shards().stream().map(org.apache.hadoop.fs.Path::new).toList();
        long start = System.nanoTime();
        RunSecret secret = in.secret().secret();
        // What is slow to start (engine, model, first batch of a fresh executor) comes before the
        // rendezvous, so the ring's timeout bounds only the gaps between iterations.
        try (Replica replica = new Replica(ModelSpec.of(cfg), SgdSettings.of(cfg), cfg.getFloat("TRAIN.LABEL_SMOOTHING"),
                device.device());
                BatchLoader loader = new BatchLoader(ShardFeeds.training(plan, rank, shards,
                        HadoopSettings.configuration(in.hadoopSettings())), true, batchSize,
                        ImageTransform.train(imSize, cfg.getFloat("TRAIN.PCA_STD"), cfg.getInt("RNG_SEED"), in.epoch())
                                .withLimits(ImageLimits.ofPixels(cfg.getInt("DATA_LOADER.MAX_PIXELS"))),
                        cfg.getInt("DATA_LOADER.NUM_WORKERS"));
                EmaSnapshotSender sender = rank == 0 && period > 0
                        ? new EmaSnapshotSender(in.cluster().emaHost(), in.emaPort(), secret, in.cluster().encrypt(), in.epoch(),
                                in.attempt()) : null) {
            replica.load(in.model());
            replica.loadOptimizer(in.optimizer());
            Batch first = loader.next(Batch.allocate(batchSize, imSize));
            RingEndpoint endpoint = RingEndpoint.of(context, in.cluster().ringInterface());
            try (ServerSocketChannel server = RingAllReduce.listen(endpoint.bindHost())) {
                String address = endpoint.advertise(((InetSocketAddress) server.getLocalAddress()).getPort());
                LOG.info("epoch {} attempt {}: rank {} of {} at {} on {}", in.epoch() + 1, in.attempt() + 1, rank,
                        plan.worldSize(), address, device.description());
                List<String> addresses = Arrays.asList(PromptAllGather.allGather(context, address));
                try (RingAllReduce ring = RingAllReduce.connect(rank, addresses, server, RENDEZVOUS_TIMEOUT,
                        in.cluster().ringTimeout(), new RingAuth(secret, "epoch " + in.epoch() + " attempt " + in.attempt(),
                        in.cluster().ringBlockMacs(), in.cluster().encrypt()), in.cluster().ringWire(), in.cluster().ringStreams())) {
                    TrainMeter meter = rank == 0 ? new TrainMeter(in.epoch(), cfg.getInt("OPTIM.MAX_EPOCH"), plan.iterations(),
                            cfg.getInt("TRAIN.BATCH_SIZE"), cfg.getInt("LOG_PERIOD")) : null;
                    StepTimes times = new StepTimes();
                    double[] sums = train(in, context, replica, loader, first, sender, ring, meter, times, progress);
                    int sent = sender == null ? 0 : sender.flush();
                    return new RankResult(rank, in.attempt(), address, device.description(), plan.iterations(), sums[0],
                            sums[1], sums[2], (System.nanoTime() - start) / 1e9, loader.skipped(),
                            rank == 0 ? replica.read() : null, rank == 0 ? replica.optimizerState() : null, sent, times);
                } catch (IOException e) {
                    // Say who reports it: the driver's error then names both ends.
                    throw new IOException("rank " + rank + " at " + address + " reports: " + e.getMessage(), e);
                }
            }
        }
    }

    /**
     * The epoch's iterations in lockstep; returns the sums of the averaged loss, top-1 and top-5 errors.
     * {@code times} gets where each step's time went.
     */
    private static double[] train(EpochInputs in, BarrierTaskContext context, Replica replica, BatchLoader loader, Batch first,
            EmaSnapshotSender sender, RingAllReduce ring, TrainMeter meter, StepTimes times, Consumer<String> progress)
            throws IOException {
        int rank = context.partitionId();
        int period = in.cfg().getInt("OPTIM.EMA_UPDATE_PERIOD");
        int iterations = in.plan().iterations();
        FaultInjection faults = FaultInjection.fromEnvironment();
        int gradientCount = replica.tensors().layout().gradientCount();
        FloatSlab exchange = FloatSlab.allocate(gradientCount + STATS); // direct memory: the ring moves it without copies
        double[] sums = new double[STATS];
        Batch batch = first;
        BucketedStep step = new BucketedStep(replica, ring, in.cluster().ringBuckets(), gradientCount, STATS,
                replica.onGpu());
        long iterStart = System.nanoTime();
        for (int iter = 0; iter < iterations; iter++) {
            times.start();
            // A cancelled attempt (another rank failed, or it could not start) frees its slot now: Spark
            // interrupts the thread (its job group asks it to), which ends waits on the ring and the loader;
            // this catches a kill that came between them.
            context.killTaskIfInterrupted();
            faults.maybeStall(in.epoch(), rank, iter, in.attempt());
            if (iter > 0) {
                batch = loader.next(batch);
            }
            faults.maybeFail(in.epoch(), rank, iter, in.attempt());
            times.lap(Phase.DATA);
            StepStats stats = replica.forwardBackward(batch);
            times.lap(Phase.FORWARD_BACKWARD);
            exchange.put(gradientCount, (float) stats.loss());
            exchange.put(gradientCount + 1, 100f * (1f - (float) stats.top1Hits() / stats.count()));
            exchange.put(gradientCount + 2, 100f * (1f - (float) stats.top5Hits() / stats.count()));
            String where = "epoch " + JsonStats.epochLabel(in.epoch(), in.cfg().getInt("OPTIM.MAX_EPOCH")) + ", iteration "
                    + (iter + 1) + "/" + iterations;
            int it = iter;
            // The gradients are copied out and the step taken inside the exchange, bucket by bucket; their
            // time on this thread is counted as theirs, and time_exchange keeps only the wait for the ring.
            step.run(exchange, in.lr(), where, (a, from, to) -> faults.maybePoison(in.epoch(), rank, it, a, from, to));
            times.lap(Phase.EXCHANGE);
            times.move(Phase.EXCHANGE, Phase.WAIT, ring.lastWaitNanos());
            times.move(Phase.EXCHANGE, Phase.GRADIENTS_OUT, step.fillNanos());
            times.move(Phase.EXCHANGE, Phase.STEP, step.stepNanos());
            replica.endStep();
            for (int s = 0; s < STATS; s++) {
                sums[s] += exchange.get(gradientCount + s);
            }
            times.lap(Phase.STEP);
            if (sender != null && EmaRule.updatesAt(period, iter)) {
                sender.submit(iter, replica.readInto(sender.blank(replica.tensors().layout())));
            }
            times.lap(Phase.EMA);
            times.iterationDone();
            if (meter != null) {
                long now = System.nanoTime();
                meter.update(exchange.get(gradientCount), exchange.get(gradientCount + 1), exchange.get(gradientCount + 2), in.lr(),
                        (now - iterStart) / 1e9);
                iterStart = now;
                if (meter.logsAt(iter)) {
                    String line = JsonStats.json(meter.iterStats(iter, times));
                    LOG.info("{}{}", JsonStats.TAG, line);
                    progress.accept(line);
                }
            }
        }
        return sums;
    }
}
