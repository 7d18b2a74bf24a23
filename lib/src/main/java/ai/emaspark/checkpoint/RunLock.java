package ai.emaspark.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.client.HdfsDataOutputStream;
import org.apache.hadoop.ipc.RemoteException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code OUT_DIR/.lock}: the run that holds it is the only one writing to OUT_DIR. The owner keeps
 * the file open for the run's life (on HDFS its lease then refuses every other writer) and appends a
 * heartbeat line every {@link #HEARTBEAT}. Another run that finds the lock watches it: if the file
 * grows, its owner is alive and the run is refused with one line naming it; if it stays silent for
 * {@link #SILENCE}, its owner is dead (a killed driver) and the lock is taken over (on HDFS by
 * recovering the dead client's lease). No clocks are compared. A run that loses its lock (it stalled
 * past the silence and another run took over) finds out at its next heartbeat and stops writing.
 * On other file systems, which have no leases, the same protocol is best effort.
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = ".lock";
    static final Duration HEARTBEAT = Duration.ofSeconds(5);
    static final Duration SILENCE = Duration.ofSeconds(15);
    private static final Duration RECOVERY = Duration.ofSeconds(90);
    private static final Logger LOG = LoggerFactory.getLogger(RunLock.class);
    private static final String HELD = "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException";
    private static final String RECOVERING = "org.apache.hadoop.hdfs.protocol.RecoveryInProgressException";

    private final FileSystem fs;
    private final Path lock;
    private final FSDataOutputStream out;
    private final ScheduledExecutorService heartbeats;
    private volatile IOException lost;

    private RunLock(FileSystem fs, Path lock, FSDataOutputStream out, Duration heartbeat) {
        this.fs = fs;
        this.lock = lock;
        this.out = out;
        this.heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "out-dir-lock-heartbeat");
            t.setDaemon(true);
            return t;
        });
        heartbeats.scheduleWithFixedDelay(this::beat, heartbeat.toMillis(), heartbeat.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Thrown when another live run holds the lock: one line naming it. */
    public static final class HeldException extends IOException {
        private static final long serialVersionUID = 1L;

        HeldException(String message) {
            super(message);
        }
    }

    /**
     * Takes OUT_DIR's lock for this run, waiting (at most {@link #SILENCE} plus the lease recovery) to
     * tell a live owner from a dead one.
     *
     * @param owner who this run is, for the message another run gets (e.g. "emaspark-train app-2026...")
     */
    public static RunLock acquire(Configuration conf, Path outDir, String owner) throws IOException {
        return acquire(conf, outDir, owner, HEARTBEAT, SILENCE);
    }

    static RunLock acquire(Configuration conf, Path outDir, String owner, Duration heartbeat, Duration silence)
            throws IOException {
        Configuration lockConf = new Configuration(conf);
        // A tiny file appended to after a takeover: keep writing to the DataNodes that are left rather
        // than fail for want of a replacement (HDFS's default needs spare DataNodes to append).
        lockConf.setBoolean("dfs.client.block.write.replace-datanode-on-failure.enable", false);
        FileSystem fs = FileSystem.newInstance(outDir.toUri(), lockConf); // its own client: its own lease
        Path lock = new Path(outDir, FILE);
        try {
            fs.mkdirs(outDir);
            FSDataOutputStream out = open(fs, lock, silence);
            out.write(("owner " + owner + " on " + host() + " since " + Instant.now() + "\n").getBytes(StandardCharsets.UTF_8));
            sync(out);
            return new RunLock(fs, lock, out, heartbeat);
        } catch (IOException | RuntimeException e) {
            fs.close();
            throw e;
        }
    }

    private static FSDataOutputStream open(FileSystem fs, Path lock, Duration silence) throws IOException {
        long deadline = System.nanoTime() + silence.plus(RECOVERY).toNanos();
        boolean hdfs = fs instanceof DistributedFileSystem;
        while (true) {
            try {
                return fs.create(lock, false);
            } catch (FileAlreadyExistsException exists) {
                if (hdfs) {
                    try {
                        // On HDFS a lock file that exists but is closed is held by nobody: take it.
                        return fs.append(lock);
                    } catch (RemoteException e) {
                        handle(fs, lock, silence, e);
                    }
                } else {
                    takeOverIfSilent(fs, lock, silence); // best effort: no leases here
                }
            } catch (RemoteException e) {
                handle(fs, lock, silence, e);
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("could not take the lock " + lock + " within " + silence.plus(RECOVERY).toSeconds()
                        + " s: HDFS is still recovering its previous owner's lease");
            }
            pause(500);
        }
    }

    /** An open lock file on HDFS: a live or a dead owner's lease, or a recovery under way. */
    private static void handle(FileSystem fs, Path lock, Duration silence, RemoteException e) throws IOException {
        if (HELD.equals(e.getClassName())) {
            takeOverIfSilent(fs, lock, silence);
        } else if (!RECOVERING.equals(e.getClassName())) {
            throw e;
        }
    }

    /** Watches the lock: refuses if its owner is alive (the file grows); recovers it if it stays silent. */
    private static void takeOverIfSilent(FileSystem fs, Path lock, Duration silence) throws IOException {
        String content = read(fs, lock);
        long start = System.nanoTime();
        LOG.info("{} is held by: {}; watching it for up to {} s to tell whether that run is alive", lock, owner(content),
                silence.toSeconds());
        while (System.nanoTime() - start < silence.toNanos()) {
            pause(500);
            String now = read(fs, lock);
            if (now.length() != content.length()) {
                throw new HeldException("OUT_DIR " + lock.getParent() + " is used by another run that is still going: "
                        + owner(now) + "; give this run its own OUT_DIR, or stop that run first");
            }
        }
        LOG.warn("{}: its owner ({}) has been silent for {} s: it is dead; taking the lock over", lock, owner(content),
                silence.toSeconds());
        if (fs instanceof DistributedFileSystem dfs) {
            dfs.recoverLease(lock); // revokes the dead client's lease; the file closes once its last block is recovered
            long deadline = System.nanoTime() + RECOVERY.toNanos();
            while (!dfs.isFileClosed(lock) && System.nanoTime() < deadline) {
                pause(500);
            }
        } else {
            fs.delete(lock, false);
        }
    }

    /** Everything readable of the lock file now (an open file's flushed part included). */
    private static String read(FileSystem fs, Path lock) throws IOException {
        try (InputStream in = fs.open(lock)) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            in.transferTo(bytes);
            return bytes.toString(StandardCharsets.UTF_8);
        } catch (FileNotFoundException gone) {
            return "";
        }
    }

    private static String owner(String content) {
        String owner = "";
        for (String line : content.split("\n")) {
            if (line.startsWith("owner ")) {
                owner = line.substring(6); // the latest owner: a lock taken over holds several
            }
        }
        return owner.isEmpty() ? "(unknown)" : owner;
    }

    private void beat() {
        try {
            out.write(("alive " + Instant.now() + "\n").getBytes(StandardCharsets.UTF_8));
            sync(out);
        } catch (IOException e) {
            if (lost == null) {
                lost = e;
                LOG.error("lost the lock {}: {}", lock, e.getMessage());
            }
        }
    }

    /** Flushed to the DataNodes, and on HDFS the new length told to the NameNode, which checks the lease. */
    private static void sync(FSDataOutputStream out) throws IOException {
        if (out instanceof HdfsDataOutputStream hdfs) {
            hdfs.hsync(EnumSet.of(HdfsDataOutputStream.SyncFlag.UPDATE_LENGTH));
        } else {
            out.hflush();
        }
    }

    /** Fails if this run lost its lock (it must not write to OUT_DIR any more). */
    public void checkHeld() throws IOException {
        if (lost != null) {
            throw new IOException("this run lost the lock " + lock + " (" + lost.getMessage()
                    + "): another run may be writing to OUT_DIR; stopping without writing more", lost);
        }
    }

    /** Releases the lock: deleted while still held, then closed. */
    @Override
    public void close() throws IOException {
        heartbeats.shutdown();
        try {
            heartbeats.awaitTermination(10, TimeUnit.SECONDS); // no heartbeat racing the delete below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (lost == null) {
                fs.delete(lock, false);
            }
            try {
                out.close();
            } catch (IOException deletedFirst) {
                // the file is gone: that is the release
            }
        } finally {
            fs.close();
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName() + " (pid " + ProcessHandle.current().pid() + ")";
        } catch (IOException e) {
            return "pid " + ProcessHandle.current().pid();
        }
    }

    private static void pause(long ms) throws IOException {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for the lock");
        }
    }
}
