package ai.emaspark.spark;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple4;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Prepare's "files done / total" while a split is read: tasks count files and bytes into two
 * accumulators; the driver adds the finished tasks' sums to the running tasks' values of their last
 * heartbeat, and logs every {@code periodSeconds} with the rate. Tars are counted by bytes only
 * (their file count is known once read).
 */
final class PrepareProgress extends SparkListener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PrepareProgress.class);

    private final SparkContext sc;
    private final String split;
    private final long totalFiles;
    private final long totalBytes;
    private final LongAccumulator files = new LongAccumulator();
    private final LongAccumulator bytes = new LongAccumulator();
    /** Running tasks' last heartbeat values: task id → {files, bytes}. */
    private final Map<Long, long[]> running = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;
    private final long start = System.nanoTime();
    private long loggedFiles = -1;

    /** @param totalFiles files known from listings (0 when the split is all tars) */
    PrepareProgress(SparkContext sc, String split, long totalFiles, long totalBytes, int periodSeconds) {
        this.sc = sc;
        this.split = split;
        this.totalFiles = totalFiles;
        this.totalBytes = totalBytes;
        sc.register(files, "emaspark prepare " + split + " files");
        sc.register(bytes, "emaspark prepare " + split + " bytes");
        sc.addSparkListener(this);
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "prepare-progress");
            thread.setDaemon(true);
            return thread;
        });
        timer.scheduleAtFixedRate(this::log, periodSeconds, periodSeconds, TimeUnit.SECONDS);
    }

    /** Shipped with the read tasks: one file read, of {@code size} bytes. */
    LongAccumulator files() {
        return files;
    }

    LongAccumulator bytes() {
        return bytes;
    }

    @Override
    public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
        for (Tuple4<Object, Object, Object, Seq<AccumulableInfo>> task : CollectionConverters.asJava(update.accumUpdates())) {
            // Only tasks that started and have not ended: a heartbeat may arrive after its task's end.
            long[] seen = running.get((Long) task._1());
            if (seen == null) {
                continue;
            }
            for (AccumulableInfo info : CollectionConverters.asJava(task._4())) {
                if (info.update().isDefined() && info.update().get() instanceof Long value) {
                    if (info.id() == files.id()) {
                        seen[0] = value;
                    } else if (info.id() == bytes.id()) {
                        seen[1] = value;
                    }
                }
            }
        }
    }

    @Override
    public void onTaskStart(SparkListenerTaskStart start) {
        running.put(start.taskInfo().taskId(), new long[2]);
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        running.remove(end.taskInfo().taskId()); // a finished task's count is in the accumulator's value now
    }

    /** Logs when the count moved since the last line; the rate is over the time until the last file read. */
    private synchronized void log() {
        long doneFiles = files.value() + running.values().stream().mapToLong(v -> v[0]).sum();
        long doneBytes = bytes.value() + running.values().stream().mapToLong(v -> v[1]).sum();
        if (doneFiles == loggedFiles) {
            return;
        }
        loggedFiles = doneFiles;
        double seconds = Math.max(1e-3, (System.nanoTime() - start) / 1e9);
        String of = totalFiles > 0 ? String.format(Locale.ROOT, " of %,d", totalFiles) : "";
        LOG.info(String.format(Locale.ROOT, "%s: read %,d%s files (%.0f %% of %,d MB) in %.0f s, %.0f files/s, %.1f MB/s", split,
                doneFiles, of, totalBytes == 0 ? 100.0 : 100.0 * doneBytes / totalBytes, totalBytes >> 20, seconds,
                doneFiles / seconds, doneBytes / 1e6 / seconds));
    }

    @Override
    public void close() {
        timer.shutdownNow();
        sc.removeSparkListener(this);
        log();
    }
}
