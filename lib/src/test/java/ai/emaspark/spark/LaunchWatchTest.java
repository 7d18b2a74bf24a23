package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * A barrier job whose two tasks wait for busy slots: cancelled when they have not started by the
 * deadline, never when they started just before it. The status store is told to update live
 * entities only hourly, as it may lag a flush period behind the starts on a busy driver.
 */
class LaunchWatchTest {
    private static final ClassTag<Integer> INT = ClassTag$.MODULE$.apply(Integer.class);
    private static JavaSparkContext jsc;
    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        jsc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("launch-watch-test")
                .set("spark.ui.enabled", "false").set("spark.ui.liveUpdate.period", "1h")
                .set("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s"));
        pool = Executors.newSingleThreadExecutor();
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
        jsc.close();
    }

    /** Sleeps in each task for {@code ms}. */
    static final class Sleep extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<Integer>>
            implements Serializable {
        private final long ms;

        Sleep(long ms) {
            this.ms = ms;
        }

        @Override
        public scala.collection.Iterator<Integer> apply(scala.collection.Iterator<Integer> in) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                throw new IllegalStateException("interrupted", e);
            }
            return CollectionConverters.asScala(List.of(1).iterator());
        }
    }

    /** Tasks of the blocking job running now (local mode: tasks run in this JVM). */
    private static final java.util.concurrent.atomic.AtomicInteger BLOCKING = new java.util.concurrent.atomic.AtomicInteger();

    /** Both slots busy for {@code ms} with an ordinary job, started in the background. */
    private static Future<?> occupySlots(long ms) throws InterruptedException {
        Future<?> blocker = pool.submit(() -> jsc.parallelize(List.of(1, 2), 2).foreach(x -> {
            BLOCKING.incrementAndGet();
            try {
                Thread.sleep(ms);
            } finally {
                BLOCKING.decrementAndGet();
            }
        }));
        long until = System.nanoTime() + 10_000_000_000L;
        while (BLOCKING.get() < 2 && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        return blocker;
    }

    private static List<Integer> barrierJob(String group, long taskMs) {
        jsc.setJobGroup(group, group, true);
        try {
            RDD<Integer> tasks = jsc.parallelize(List.of(1, 2), 2).rdd();
            return new JavaRDD<>(tasks.barrier().mapPartitions(new Sleep(taskMs), false, INT), INT).collect();
        } finally {
            jsc.clearJobGroup();
        }
    }

    @Test
    void tasksThatStartedJustBeforeTheDeadlineAreNotCancelled() throws Exception {
        Future<?> blocker = occupySlots(2_000);
        try (LaunchWatch watch = new LaunchWatch(jsc.sc(), "late-start", Duration.ofMillis(2_600))) {
            // The barrier tasks start when the blocker ends (~2 s), and run past the deadline.
            assertEquals(List.of(1, 1), barrierJob("late-start", 2_000));
            assertFalse(watch.fired());
        }
        blocker.get();
    }

    @Test
    void tasksThatCannotStartByTheDeadlineAreCancelled() throws Exception {
        Future<?> blocker = occupySlots(4_000);
        long start = System.nanoTime();
        try (LaunchWatch watch = new LaunchWatch(jsc.sc(), "no-start", Duration.ofMillis(1_000))) {
            Exception e = assertThrows(Exception.class, () -> barrierJob("no-start", 100));
            assertTrue(watch.fired());
            assertTrue(String.valueOf(e.getMessage()).contains("did not start in time"), e.getMessage());
        }
        assertTrue((System.nanoTime() - start) / 1e9 < 3.5, "cancelled at the deadline, not when slots freed");
        blocker.get();
    }
}
