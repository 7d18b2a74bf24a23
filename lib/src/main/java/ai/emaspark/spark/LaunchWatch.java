package ai.emaspark.spark;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkJobInfo;
import org.apache.spark.SparkStageInfo;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.JavaSparkStatusTracker;

/**
 * Cancels a barrier job whose tasks did not start within a bound. Once submitted, Spark waits for
 * enough free slots forever (SPARK-24823), e.g. while the slot of a rank behind a dead link is still
 * counted as busy; this turns that wait into a failure the driver can report.
 */
final class LaunchWatch implements AutoCloseable {
    private final JavaSparkContext jsc;
    private final String group;
    private final long deadline;
    private final ScheduledExecutorService timer;
    private volatile boolean started;
    private volatile boolean fired;

    LaunchWatch(JavaSparkContext jsc, String group, Duration timeout) {
        this.jsc = jsc;
        this.group = group;
        this.deadline = System.nanoTime() + timeout.toNanos();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "launch-watch-" + group);
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::check, 250, 250, TimeUnit.MILLISECONDS);
    }

    /** True when the job was cancelled because its tasks had not started in time. */
    boolean fired() {
        return fired;
    }

    private void check() {
        if (started || fired) {
            return;
        }
        if (anyTaskStarted()) {
            started = true;
            timer.shutdown();
        } else if (System.nanoTime() > deadline) {
            fired = true;
            jsc.sc().cancelJobGroup(group, "its tasks did not start in time");
            timer.shutdown();
        }
    }

    private boolean anyTaskStarted() {
        JavaSparkStatusTracker tracker = jsc.statusTracker();
        for (int jobId : tracker.getJobIdsForGroup(group)) {
            SparkJobInfo job = tracker.getJobInfo(jobId);
            if (job == null) {
                continue;
            }
            for (int stageId : job.stageIds()) {
                SparkStageInfo stage = tracker.getStageInfo(stageId);
                if (stage != null && stage.numActiveTasks() + stage.numCompletedTasks() + stage.numFailedTasks() > 0) {
                    return true;
                }
            }
        }
        return false;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
