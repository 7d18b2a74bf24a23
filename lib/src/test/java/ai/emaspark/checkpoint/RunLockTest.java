package ai.emaspark.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** OUT_DIR's lock off HDFS: an OS lock on local and NFS paths, held by real driver processes; a refusal elsewhere. */
class RunLockTest {
    @TempDir
    java.nio.file.Path tmp;

    @Test
    void onALocalPathALiveOwnerRefusesAtOnceAndAKilledOnesLockIsFreeAtOnce() throws Exception {
        Path outDir = new Path(tmp.resolve("run").toUri());
        Process owner = holder(outDir);
        try {
            assertTrue(firstLine(owner).startsWith("locked "), "the first driver holds the lock");
            long start = System.nanoTime();
            RunLock.HeldException held = assertThrows(RunLock.HeldException.class,
                    () -> RunLock.acquire(new Configuration(), outDir, "a second driver").close());
            assertTrue((System.nanoTime() - start) / 1e9 < 5, "refused without watching for a silence");
            assertTrue(held.getMessage().startsWith("OUT_DIR " + outDir + " is used by another run that is still going: "
                    + "a driver about to be killed on "), held.getMessage());
            assertFalse(held.getMessage().contains("\n"), "one line");
        } finally {
            owner.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // kill -9: the OS drops its lock
        }
        try (RunLock next = RunLock.acquire(new Configuration(), outDir, "the next run")) {
            next.confirm();
            assertTrue(Files.readString(tmp.resolve("run/.lock")).startsWith("owner the next run on "));
        }
        assertEquals("", Files.readString(tmp.resolve("run/.lock")), "released: the file names no owner");
    }

    @Test
    void ofTwoDriversStartedTogetherOnALocalPathExactlyOneHoldsTheLock() throws Exception {
        Path outDir = new Path(tmp.resolve("together").toUri());
        List<Process> drivers = List.of(holder(outDir), holder(outDir));
        try {
            List<String> lines = new ArrayList<>();
            for (Process driver : drivers) {
                lines.add(firstLine(driver));
            }
            assertEquals(1, lines.stream().filter(l -> l.startsWith("locked ")).count(), lines.toString());
            assertEquals(1, lines.stream().filter(l -> l.startsWith("refused: OUT_DIR ")).count(), lines.toString());
        } finally {
            for (Process driver : drivers) {
                driver.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aLockFileDeletedByHandIsALostLock() throws Exception {
        Path outDir = new Path(tmp.resolve("deleted").toUri());
        try (RunLock lock = RunLock.acquire(new Configuration(), outDir, "this run")) {
            Files.delete(tmp.resolve("deleted/.lock"));
            assertThrows(RunLock.LostException.class, lock::confirm);
        }
    }

    @Test
    void aFileSystemThatCanHoldNoLockIsRefusedInOneLineUnlessTheUserSaysNone() throws Exception {
        Path onHttp = new Path("http://localhost:1/runs/r");
        RunLock.UnsupportedException e = assertThrows(RunLock.UnsupportedException.class,
                () -> RunLock.acquire(new Configuration(), onHttp, "this run"));
        assertEquals("OUT_DIR " + onHttp + " is on a file system (http) that can hold no lock, so nothing would keep two runs "
                + "from writing into it at once: give an OUT_DIR on HDFS or a local or NFS path, or set "
                + "spark.emaspark.outDir.lock=none if you make sure only one run uses it", e.getMessage());
        try (RunLock none = RunLock.acquire(new Configuration(), onHttp, "this run", RunLock.Mode.NONE)) {
            none.confirm(); // the user's word: nothing to hold
        }
    }

    private static Process holder(Path outDir) throws Exception {
        return new ProcessBuilder(System.getProperty("java.home") + "/bin/java", "-cp", System.getProperty("java.class.path"),
                LockHolder.class.getName(), outDir.toString()).redirectErrorStream(true).start();
    }

    /** The holder's "locked ..." or "refused: ..." line (its log lines skipped). */
    private static String firstLine(Process holder) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null && !line.startsWith("locked ") && !line.startsWith("refused: ")) {
            // log lines
        }
        return line == null ? "(no line: the holder ended)" : line;
    }
}
