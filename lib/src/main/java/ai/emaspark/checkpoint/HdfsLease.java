package ai.emaspark.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
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
 * OUT_DIR's lock on HDFS. The owner keeps {@code .lock} open for the run's life (its lease then refuses
 * every other writer) and appends a heartbeat line every {@link #HEARTBEAT}. Another run that finds the
 * lock watches it: if the file grows, its owner is alive and the run is refused with one line naming
 * it; if it stays silent for {@link #SILENCE}, its owner is dead (a killed driver) and the lock is taken
 * over by recovering the dead client's lease. No clocks are compared. An owner that stalled past the
 * silence and was taken over finds out at its next write to the file, which the NameNode refuses: at
 * its next heartbeat, or at {@link #confirm} right before it would replace anything in OUT_DIR.
 */
final class HdfsLease implements RunLock {
    static final Duration HEARTBEAT = Duration.ofSeconds(5);
    static final Duration SILENCE = Duration.ofSeconds(15);
    private static final Duration RECOVERY = Duration.ofSeconds(90);
    private static final Logger LOG = LoggerFactory.getLogger(HdfsLease.class);
    private static final String HELD = "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException";
    private static final String RECOVERING = "org.apache.hadoop.hdfs.protocol.RecoveryInProgressException";

    private final FileSystem fs;
    private final Path lock;
    private final FSDataOutputStream out;
    private final ScheduledExecutorService heartbeats;
    private Exception lost; // guarded by this

    private HdfsLease(FileSystem fs, Path lock, FSDataOutputStream out, Duration heartbeat) {
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

    static HdfsLease acquire(Configuration conf, Path outDir, String owner) throws IOException {
        return acquire(conf, outDir, owner, HEARTBEAT, SILENCE);
    }

    /** With other heartbeat and silence bounds (tests: an owner whose heartbeat is held back). */
    static HdfsLease acquire(Configuration conf, Path outDir, String owner, Duration heartbeat, Duration silence)
            throws IOException {
        Configuration lockConf = new Configuration(conf);
        // A tiny file appended to after a takeover: keep writing to the DataNodes that are left rather
        // than fail for want of a replacement (HDFS's default needs spare DataNodes to append).
        lockConf.setBoolean("dfs.client.block.write.replace-datanode-on-failure.enable", false);
        FileSystem fs = FileSystem.newInstance(outDir.toUri(), lockConf); // its own client: its own lease
        Path lock = new Path(outDir, RunLock.FILE);
        try {
            fs.mkdirs(outDir);
            FSDataOutputStream out = open(fs, lock, silence);
            out.write(LockFile.ownerLine(owner).getBytes(StandardCharsets.UTF_8));
            sync(out);
            return new HdfsLease(fs, lock, out, heartbeat);
        } catch (IOException | RuntimeException e) {
            fs.close();
            throw e;
        }
    }

    private static FSDataOutputStream open(FileSystem fs, Path lock, Duration silence) throws IOException {
        long deadline = System.nanoTime() + silence.plus(RECOVERY).toNanos();
        while (true) {
            try {
                return fs.create(lock, false);
            } catch (FileAlreadyExistsException exists) {
                try {
                    return fs.append(lock); // a lock file that exists but is closed is held by nobody: take it
                } catch (RemoteException e) {
                    handle(fs, lock, silence, e);
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

    /** An open lock file: a live or a dead owner's lease, or a recovery under way. */
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
        LOG.info("{} is held by: {}; watching it for up to {} s to tell whether that run is alive", lock, LockFile.owner(content),
                silence.toSeconds());
        while (System.nanoTime() - start < silence.toNanos()) {
            pause(500);
            String now = read(fs, lock);
            if (now.length() != content.length()) {
                throw new RunLock.HeldException(lock.getParent(), LockFile.owner(now));
            }
        }
        LOG.warn("{}: its owner ({}) has been silent for {} s: it is dead; taking the lock over", lock, LockFile.owner(content),
                silence.toSeconds());
        DistributedFileSystem dfs = (DistributedFileSystem) fs;
        dfs.recoverLease(lock); // revokes the dead client's lease; the file closes once its last block is recovered
        long deadline = System.nanoTime() + RECOVERY.toNanos();
        while (!dfs.isFileClosed(lock) && System.nanoTime() < deadline) {
            pause(500);
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

    private void beat() {
        try {
            confirm();
        } catch (IOException e) {
            // confirm() recorded it and said so
        }
    }

    /**
     * Appends a heartbeat and syncs it: the NameNode refuses it unless this client still holds the
     * lease. Any failure counts as lost: from then on this run must not write to OUT_DIR.
     */
    @Override
    public synchronized void confirm() throws IOException {
        if (lost == null) {
            try {
                out.write(("alive " + Instant.now() + "\n").getBytes(StandardCharsets.UTF_8));
                sync(out);
            } catch (Exception e) { // anything: a heartbeat thread that died silently would let a successor in
                lost = e;
                LOG.error("lost the lock {}: {}", lock, String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
            }
        }
        if (lost != null) {
            String why = String.valueOf(lost.getMessage()).lines().findFirst().orElse(""); // a NameNode's reason can run on
            throw new RunLock.LostException("this run lost the lock " + lock + " (" + why
                    + "): another run may be writing to OUT_DIR; stopping without writing more", lost);
        }
    }

    /** Flushed to the DataNodes, and the new length told to the NameNode, which checks the lease. */
    private static void sync(FSDataOutputStream out) throws IOException {
        if (out instanceof HdfsDataOutputStream hdfs) {
            hdfs.hsync(EnumSet.of(HdfsDataOutputStream.SyncFlag.UPDATE_LENGTH));
        } else {
            out.hflush();
        }
    }

    /** Deleted only if the NameNode still takes this run's heartbeat: a successor's lock is never touched. */
    @Override
    public void close() throws IOException {
        heartbeats.shutdown();
        try {
            heartbeats.awaitTermination(10, TimeUnit.SECONDS); // no heartbeat racing the delete below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (held()) {
                fs.delete(lock, false);
            } else {
                LOG.warn("{} was taken over by another run: left to it", lock);
            }
            try {
                out.close();
            } catch (IOException deletedOrTakenOver) {
                // the file is gone (the release) or another run's now
            }
        } finally {
            fs.close();
        }
    }

    private boolean held() {
        try {
            confirm();
            return true;
        } catch (IOException e) {
            return false;
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
