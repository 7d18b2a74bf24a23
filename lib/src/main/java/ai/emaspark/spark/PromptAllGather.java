package ai.emaspark.spark;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.spark.BarrierTaskContext;

/**
 * {@link BarrierTaskContext#allGather} without its polling delay. Spark's task thread waits for the
 * gather's RPC by sleeping a whole second between checks (BarrierTaskContext.runBarrier), so every
 * rendezvous costs each rank at least a second, every epoch. While it waits, a helper thread wakes it
 * every {@link #POKE_MS} ms: Spark's loop takes the interrupt for a possible kill, finds the task was
 * not killed, checks the RPC and sleeps again, so it returns within a poke of the last rank's arrival.
 * Nothing else happens on that thread meanwhile (the RPC travels on Spark's own threads), and the poke
 * is withdrawn before the call returns; a real kill (Spark's reason set) keeps its interrupt.
 */
final class PromptAllGather {
    static final long POKE_MS = 10;

    private PromptAllGather() {
    }

    static String[] allGather(BarrierTaskContext context, String message) {
        Thread task = Thread.currentThread();
        Object lock = new Object();
        boolean[] waiting = {true};
        ScheduledExecutorService poker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "emaspark-allgather-poke");
            t.setDaemon(true);
            return t;
        });
        poker.scheduleWithFixedDelay(() -> {
            synchronized (lock) {
                if (waiting[0]) {
                    task.interrupt();
                }
            }
        }, POKE_MS, POKE_MS, TimeUnit.MILLISECONDS);
        try {
            return context.allGather(message);
        } finally {
            synchronized (lock) {
                waiting[0] = false; // no poke after this
            }
            poker.shutdownNow();
            Thread.interrupted(); // one may have come after Spark's last sleep
            if (context.isInterrupted()) {
                task.interrupt(); // killed by Spark: keep the interrupt for what comes next
            }
        }
    }
}
