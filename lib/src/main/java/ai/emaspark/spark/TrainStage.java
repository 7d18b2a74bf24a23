package ai.emaspark.spark;

import ai.emaspark.train.TrainingDivergedException;
import java.util.List;
import java.util.function.IntFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * One epoch's barrier stage: NUM_GPUS ranks in lockstep. Spark does not retry a failed barrier
 * result stage, so this does, from the epoch's start state, up to spark.stage.maxConsecutiveAttempts
 * times; before each attempt it waits (boundedly) for the cluster to offer NUM_GPUS task slots, and
 * an attempt whose ranks cannot all start in that time is cancelled. A run that cannot go on ends
 * with one line naming the last failure (e.g. the rank and address that stopped answering).
 */
final class TrainStage {
    private static final Logger LOG = LoggerFactory.getLogger(TrainStage.class);
    private static final ClassTag<RankResult> RESULT = ClassTag$.MODULE$.apply(RankResult.class);

    private final JavaSparkContext jsc;
    private final ClusterSettings cluster;
    private final int world;
    private final int maxAttempts;

    TrainStage(JavaSparkContext jsc, ClusterSettings cluster, int world) {
        this.jsc = jsc;
        this.cluster = cluster;
        this.world = world;
        this.maxAttempts = jsc.getConf().getInt("spark.stage.maxConsecutiveAttempts", 4);
    }

    /**
     * Trains one epoch; {@code inputs} makes the broadcast state of an attempt.
     *
     * @param label "epoch 2/100", for logs and the Spark UI
     */
    /** The ranks' results of the attempt that succeeded, and rank 0's train_iter lines of it. */
    record Trained(List<RankResult> ranks, List<String> iterationStats) {}

    Trained run(String label, IntFunction<EpochInputs> inputs) throws RunFailedException {
        String lastFailure = null;
        for (int attempt = 0; ; attempt++) {
            awaitSlots(label, attempt, lastFailure);
            String group = "emaspark-" + label.replace(' ', '-').replace('/', '-') + "-attempt-" + (attempt + 1);
            jsc.setJobGroup(group, label + ": train" + (attempt > 0 ? " (attempt " + (attempt + 1) + ")" : ""), false);
            Broadcast<EpochInputs> broadcast = jsc.broadcast(inputs.apply(attempt));
            LaunchWatch watch = new LaunchWatch(jsc.sc(), group, cluster.slotsTimeout());
            ProgressRelay progress = new ProgressRelay(jsc.sc(), label + " attempt " + (attempt + 1));
            try {
                List<RankResult> results = collect(broadcast, progress);
                List<String> iterationStats = progress.finish();
                logPlacement(label, results);
                return new Trained(results, iterationStats);
            } catch (Exception e) { // SparkException, undeclared through Scala
                if (watch.fired()) {
                    throw new RunFailedException(label + " cannot go on: " + describe(lastFailure) + "attempt " + (attempt + 1)
                            + " could not start its " + world + " ranks within " + seconds() + " s ("
                            + ClusterSettings.SLOTS_TIMEOUT + "); the cluster offers "
                            + ClusterSlots.describe(jsc.sc(), ClusterSlots.offered(jsc.sc())), e);
                }
                lastFailure = FailureReason.of(e);
                if (lastFailure.startsWith(TrainingDivergedException.PREFIX)) {
                    throw new RunFailedException(label + ": " + lastFailure, e); // it would diverge again
                }
                if (attempt + 1 >= maxAttempts) {
                    throw new RunFailedException(label + " failed " + maxAttempts
                            + " times (spark.stage.maxConsecutiveAttempts); last: " + lastFailure, e);
                }
                LOG.warn("{} attempt {} failed: {}; retrying from the epoch's start state (attempt {} of {})", label,
                        attempt + 1, lastFailure, attempt + 2, maxAttempts);
            } finally {
                watch.close();
                progress.close();
                jsc.clearJobGroup();
                broadcast.destroy();
            }
        }
    }

    private void awaitSlots(String label, int attempt, String lastFailure) throws RunFailedException {
        SparkContext sc = jsc.sc();
        int offered = ClusterSlots.await(sc, world, cluster.slotsTimeout());
        if (offered >= world) {
            return;
        }
        String needs = "NUM_GPUS " + world + " needs " + world + " task slots at once (one barrier task per replica) but the cluster offers "
                + ClusterSlots.describe(sc, offered) + " after " + seconds() + " s (" + ClusterSettings.SLOTS_TIMEOUT + ")";
        if (attempt == 0 && lastFailure == null) {
            throw new RunFailedException(needs + ": lower NUM_GPUS, or give the job more executors, cores or GPUs");
        }
        throw new RunFailedException(label + " cannot go on: " + describe(lastFailure) + needs);
    }

    private List<RankResult> collect(Broadcast<EpochInputs> inputs, ProgressRelay progress) {
        RDD<Integer> ranks = jsc.parallelize(IntStream.range(0, world).boxed().toList(), world).rdd();
        RDD<RankResult> trained = ranks.barrier().mapPartitions(new SparkFunctions.TrainPartition(inputs, progress.accumulator()),
                false, RESULT);
        return new JavaRDD<>(trained, RESULT).collect();
    }

    /** Where the ranks ran, once per epoch: operators see the ring's addresses and devices. */
    private static void logPlacement(String label, List<RankResult> results) {
        LOG.info("{}: ranks {}", label, results.stream()
                .map(r -> r.rank() + " at " + r.address() + " on " + r.device()).collect(Collectors.joining(", ")));
    }

    private static String describe(String lastFailure) {
        return lastFailure == null ? "" : lastFailure + "; then ";
    }

    private String seconds() {
        return String.valueOf(cluster.slotsTimeout().toSeconds());
    }
}
