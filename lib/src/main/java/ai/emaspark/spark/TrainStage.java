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
 * an attempt whose ranks cannot all start in that time is cancelled. When one rank fails, the others
 * are interrupted, so their slots free at once. A run that cannot go on ends with one line naming the
 * first and the last failure (e.g. the rank and address that stopped answering).
 */
final class TrainStage {
    private static final Logger LOG = LoggerFactory.getLogger(TrainStage.class);
    private static final ClassTag<RankResult> RESULT = ClassTag$.MODULE$.apply(RankResult.class);

    private final JavaSparkContext jsc;
    private final ClusterSettings cluster;
    private final int world;
    private final int maxAttempts;
    /** Whether an attempt of this run succeeded: after that, missing slots are a lost machine, not a small cluster. */
    private boolean started;

    TrainStage(JavaSparkContext jsc, ClusterSettings cluster, int world) {
        this.jsc = jsc;
        this.cluster = cluster;
        this.world = world;
        this.maxAttempts = jsc.getConf().getInt("spark.stage.maxConsecutiveAttempts", 4);
    }

    /** The ranks' results of the attempt that succeeded, and rank 0's train_iter lines of it. */
    record Trained(List<RankResult> ranks, List<String> iterationStats) {}

    /**
     * Trains one epoch; {@code inputs} makes the broadcast state of an attempt. An attempt that fails,
     * or cannot get its slots or start its ranks within spark.emaspark.slots.timeout (a lost machine's
     * replacement is still starting), is a used attempt; the run ends when none is left. Only a
     * cluster too small for the run's first attempt ends it at once.
     *
     * @param label "epoch 2/100", for logs and the Spark UI
     */
    Trained run(String label, IntFunction<EpochInputs> inputs) throws RunFailedException {
        String lastFailure = null;
        String firstFailure = null;
        for (int attempt = 0; ; attempt++) {
            if (attempt > 0) {
                LOG.warn("{} attempt {} failed: {}; retrying from the epoch's start state (attempt {} of {})", label,
                        attempt, lastFailure, attempt + 1, maxAttempts);
            }
            String noSlots = awaitSlots(attempt);
            if (noSlots != null) {
                lastFailure = noSlots;
                firstFailure = firstFailure == null ? lastFailure : firstFailure;
                checkAttemptsLeft(label, attempt, firstFailure, lastFailure, true, null);
                continue;
            }
            String group = "emaspark-" + label.replace(' ', '-').replace('/', '-') + "-attempt-" + (attempt + 1);
            // interruptOnCancel: when one rank fails, Spark kills the others by interrupting their threads.
            jsc.setJobGroup(group, label + ": train" + (attempt > 0 ? " (attempt " + (attempt + 1) + ")" : ""), true);
            Broadcast<EpochInputs> broadcast = jsc.broadcast(inputs.apply(attempt));
            LaunchWatch watch = new LaunchWatch(jsc.sc(), group, cluster.slotsTimeout());
            ProgressRelay progress = new ProgressRelay(jsc.sc(), label + " attempt " + (attempt + 1));
            try {
                List<RankResult> results = collect(broadcast, progress);
                List<String> iterationStats = progress.finish();
                logPlacement(label, results);
                started = true;
                return new Trained(results, iterationStats);
            } catch (Exception e) { // SparkException, undeclared through Scala
                lastFailure = watch.fired()
                        ? "its " + world + " ranks could not start within " + seconds() + " s (" + ClusterSettings.SLOTS_TIMEOUT
                                + "); the cluster offers " + ClusterSlots.describe(jsc.sc(), ClusterSlots.offered(jsc.sc()))
                        : FailureReason.of(e);
                if (lastFailure.startsWith(TrainingDivergedException.PREFIX)) {
                    throw new RunFailedException(label + ": " + lastFailure, e); // it would diverge again
                }
                firstFailure = firstFailure == null ? lastFailure : firstFailure;
                checkAttemptsLeft(label, attempt, firstFailure, lastFailure, watch.fired(), e);
            } finally {
                watch.close();
                progress.close();
                jsc.clearJobGroup();
                broadcast.destroy();
            }
        }
    }

    /**
     * Ends the run with one line naming the first and the last failure when no attempt is left;
     * {@code shortOfSlots}: the last one could not get or start its ranks (a machine lost for good?).
     */
    private void checkAttemptsLeft(String label, int attempt, String firstFailure, String lastFailure, boolean shortOfSlots,
            Exception cause) throws RunFailedException {
        if (attempt + 1 < maxAttempts) {
            return;
        }
        String failures = firstFailure.equals(lastFailure) ? lastFailure
                : "first: " + firstFailure + "; last: " + lastFailure;
        // A machine lost for good: the run can go on with fewer replicas (ConfigDiff allows it on resume).
        String fewer = shortOfSlots
                ? "; to go on without the lost machine, resume with a NUM_GPUS that the cluster offers and TRAIN.BATCH_SIZE divides by"
                : "";
        throw new RunFailedException(label + " cannot go on after " + maxAttempts + " attempts (spark.stage.maxConsecutiveAttempts): "
                + failures + fewer, cause);
    }

    /** Null when NUM_GPUS slots are offered in time, else why not; a run too big from its start ends. */
    private String awaitSlots(int attempt) throws RunFailedException {
        SparkContext sc = jsc.sc();
        int offered = ClusterSlots.await(sc, world, cluster.slotsTimeout());
        if (offered >= world) {
            return null;
        }
        String needs = "NUM_GPUS " + world + " needs " + world + " task slots at once (one barrier task per replica) but the cluster offers "
                + ClusterSlots.describe(sc, offered) + " after " + seconds() + " s (" + ClusterSettings.SLOTS_TIMEOUT + ")";
        if (!started && attempt == 0) {
            throw new RunFailedException(needs + ": lower NUM_GPUS, or give the job more executors, cores or GPUs");
        }
        return needs;
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

    private String seconds() {
        return String.valueOf(cluster.slotsTimeout().toSeconds());
    }
}
