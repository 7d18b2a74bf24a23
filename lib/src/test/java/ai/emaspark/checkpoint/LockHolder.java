package ai.emaspark.checkpoint;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * A driver that takes OUT_DIR's lock and holds it until killed: {@code LockHolder OUT_DIR_URI}. Prints
 * "locked ..." once it holds it, or "refused: ..." (and exits) when another run does.
 */
public final class LockHolder {
    private LockHolder() {}

    public static void main(String[] args) throws Exception {
        RunLock lock;
        try {
            lock = RunLock.acquire(new Configuration(), new Path(args[0]), "a driver about to be killed");
        } catch (RunLock.HeldException e) {
            System.out.println("refused: " + e.getMessage());
            return;
        }
        System.out.println("locked " + lock);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
