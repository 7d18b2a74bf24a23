package ai.emaspark.spark;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskStart;

/**
 * Cancels a barrier job whose tasks did not start within a bound. Once submitted, Spark waits for
 * enough free slots forever (SPARK-24823), e.g. while the slot of a rank behind a dead link is still
 * counted as busy; this turns that wait into a failure the driver can report. Task starts are heard
 * as Spark posts them (onTaskStart), not read from the status store, which can lag a barrier stage's
 * start by a flush period; at the deadline the listener bus is drained first, so a job whose tasks
 * started just before it is never cancelled as "could not start".
 */
final class LaunchWatch extends SparkListener implements AutoCloseable {
    private static final long DRAIN_MS = 5_000;
    private static final String JOB_GROUP = "spark.jobGroup.id"; // SparkContext.SPARK_JOB_GROUP_ID

    private final SparkContext sc;
    private final String group;
    private final ScheduledExecutorService timer;
    private final Set<Integer> stages = ConcurrentHashMap.newKeySet();
    private volatile boolean started;
    private volatile boolean fired;

    /** Call before the job of {@code group} is submitted: its start must be heard. */
    LaunchWatch(SparkContext sc, String group, Duration timeout) {
        this.sc = sc;
        this.group = group;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "launch-watch-" + group);
            t.setDaemon(true);
            return t;
        });
        sc.addSparkListener(this);
        timer.schedule(this::deadline, timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** True when the job was cancelled because its tasks had not started in time. */
    boolean fired() {
        return fired;
    }

    @Override
    public void onJobStart(SparkListenerJobStart jobStart) {
        if (jobStart.properties() != null && group.equals(jobStart.properties().getProperty(JOB_GROUP))) {
            for (Object stageId : scala.jdk.javaapi.CollectionConverters.asJava(jobStart.stageIds())) {
                stages.add((Integer) stageId);
            }
        }
    }

    @Override
    public void onTaskStart(SparkListenerTaskStart taskStart) {
        if (stages.contains(taskStart.stageId())) {
            started = true;
        }
    }

    private void deadline() {
        if (started) {
            return;
        }
        try {
            sc.listenerBus().waitUntilEmpty(DRAIN_MS); // a start already posted is heard before deciding
        } catch (TimeoutException | RuntimeException e) {
            // a busy bus: decide on what was heard
        }
        if (!started) {
            fired = true;
            sc.cancelJobGroup(group, "its tasks did not start in time");
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        sc.removeSparkListener(this);
    }
}
