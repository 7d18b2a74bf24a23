package ai.emaspark.spark;

import ai.emaspark.eval.JsonStats;
import java.util.List;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.util.CollectionAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple4;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Rank 0's {@code train_iter} lines in the driver's log while an epoch attempt runs. Rank 0 adds them
 * to an accumulator; executors send running tasks' accumulator values with every heartbeat
 * (spark.executor.heartbeatInterval), so they arrive over Spark's own (authenticated) RPC, at most
 * one heartbeat late, and no socket of ours is involved. {@link #finish} logs what came after the
 * last heartbeat and returns every line of the attempt, for metrics.jsonl.
 */
final class ProgressRelay extends SparkListener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressRelay.class);

    private final SparkContext sc;
    private final CollectionAccumulator<String> lines = new CollectionAccumulator<>();
    private int logged;

    ProgressRelay(SparkContext sc, String label) {
        this.sc = sc;
        sc.register(lines, "emaspark train_iter " + label);
        sc.addSparkListener(this);
    }

    /** What rank 0 adds its lines to (shipped with the task, not in a broadcast: Spark registers it there). */
    CollectionAccumulator<String> accumulator() {
        return lines;
    }

    @Override
    public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
        for (Tuple4<Object, Object, Object, Seq<AccumulableInfo>> task : CollectionConverters.asJava(update.accumUpdates())) {
            for (AccumulableInfo info : CollectionConverters.asJava(task._4())) {
                if (info.id() == lines.id() && info.update().isDefined() && info.update().get() instanceof List<?> running) {
                    logNew(running);
                }
            }
        }
    }

    /** The attempt succeeded: its lines, all logged. */
    synchronized List<String> finish() {
        List<String> all = lines.value();
        logNew(all);
        return all;
    }

    private synchronized void logNew(List<?> running) {
        for (int i = logged; i < running.size(); i++) {
            LOG.info("{}{}", JsonStats.TAG, running.get(i));
        }
        logged = Math.max(logged, running.size());
    }

    @Override
    public void close() {
        sc.removeSparkListener(this);
    }
}
