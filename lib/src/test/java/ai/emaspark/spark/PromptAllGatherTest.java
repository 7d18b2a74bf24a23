package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.spark.BarrierTaskContext;
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
 * The rendezvous without Spark's one-second polling: every rank gets every message, its thread is
 * left without a stray interrupt (an interruptible channel still works after it), and a job cancelled
 * while a rank waits in it still ends.
 */
class PromptAllGatherTest {
    private static final ClassTag<String> STRING = ClassTag$.MODULE$.apply(String.class);
    private static JavaSparkContext jsc;

    @BeforeAll
    static void start() {
        jsc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("prompt-allgather-test")
                .set("spark.ui.enabled", "false").set("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s"));
    }

    @AfterAll
    static void stop() {
        jsc.close();
    }

    /** Each task gathers {@code rounds} times (rank 1 after {@code lateMs}), then uses an interruptible channel. */
    static final class Gather extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>>
            implements Serializable {
        private final int rounds;
        private final long lateMs;

        Gather(int rounds, long lateMs) {
            this.rounds = rounds;
            this.lateMs = lateMs;
        }

        @Override
        public scala.collection.Iterator<String> apply(scala.collection.Iterator<Integer> in) {
            BarrierTaskContext context = BarrierTaskContext.get();
            List<String> out = new ArrayList<>();
            try {
                for (int k = 0; k < rounds; k++) {
                    if (context.partitionId() == 1) {
                        Thread.sleep(lateMs);
                    }
                    out.add(String.join(",", PromptAllGather.allGather(context, "rank" + context.partitionId() + "-" + k)));
                    out.add(String.valueOf(Thread.currentThread().isInterrupted()));
                }
                // A pending interrupt would close this channel (ClosedByInterruptException), as it would the ring's.
                Pipe pipe = Pipe.open();
                pipe.sink().write(ByteBuffer.wrap(new byte[] {1}));
                pipe.sink().close();
                pipe.source().close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return CollectionConverters.asScala(out.iterator());
        }
    }

    private static List<String> barrierJob(int rounds, long lateMs) {
        RDD<Integer> tasks = jsc.parallelize(List.of(1, 2), 2).rdd();
        return new JavaRDD<>(tasks.barrier().mapPartitions(new Gather(rounds, lateMs), false, STRING), STRING).collect();
    }

    @Test
    void everyRankGetsEveryMessageAndNoStrayInterrupt() {
        int rounds = 8;
        List<String> out = barrierJob(rounds, 30);
        assertEquals(2 * 2 * rounds, out.size());
        for (int task = 0; task < 2; task++) {
            for (int k = 0; k < rounds; k++) {
                int at = task * 2 * rounds + 2 * k;
                assertEquals("rank0-" + k + ",rank1-" + k, out.get(at), "round " + k + " of task " + task);
                assertEquals("false", out.get(at + 1), "no interrupt left after round " + k);
            }
        }
    }

    @Test
    void aJobCancelledWhileARankWaitsEnds() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<List<String>> job = pool.submit(() -> {
                jsc.setJobGroup("cancelled", "cancelled", true);
                return barrierJob(1, 60_000); // rank 0 waits in the gather for a rank that comes after a minute
            });
            Thread.sleep(2_000);
            jsc.cancelJobGroup("cancelled");
            Exception e = assertThrows(Exception.class, () -> job.get(20, TimeUnit.SECONDS));
            assertTrue(String.valueOf(e.getMessage()).contains("cancel"), e.getMessage());
        } finally {
            jsc.clearJobGroup();
            pool.shutdownNow();
        }
    }
}
