package ai.emaspark.checkpoint;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/** A driver that takes OUT_DIR's lock and then is killed: {@code LockHolder OUT_DIR_URI}. */
public final class LockHolder {
    private LockHolder() {}

    public static void main(String[] args) throws Exception {
        RunLock lock = RunLock.acquire(new Configuration(), new Path(args[0]), "a driver about to be killed");
        System.out.println("locked " + lock);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
