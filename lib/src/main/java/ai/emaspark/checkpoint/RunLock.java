package ai.emaspark.checkpoint;

import java.io.IOException;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.viewfs.ViewFileSystem;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code OUT_DIR/.lock}: the run that holds it is the only one writing to OUT_DIR. How it is held
 * depends on the file system: on HDFS by the lease on the open file and a heartbeat ({@link HdfsLease});
 * on a local or NFS path by an OS file lock, which the OS drops when its process dies
 * ({@link LocalFileLock}). Other file systems (object stores) can give neither and are refused,
 * unless {@value #SETTING}=none says that the user keeps a second run away.
 */
public interface RunLock extends OwnershipCheck, AutoCloseable {
    String FILE = ".lock";
    /** Spark setting: {@code auto} (the default) or {@code none}. */
    String SETTING = "spark.emaspark.outDir.lock";

    /** Thrown when another live run holds the lock: one line naming it. */
    final class HeldException extends IOException {
        private static final long serialVersionUID = 1L;

        HeldException(Path outDir, String owner) {
            super("OUT_DIR " + outDir + " is used by another run that is still going: " + owner
                    + "; give this run its own OUT_DIR, or stop that run first");
        }
    }

    /** Thrown when this run no longer holds the lock (taken over, or its file deleted): one line; it must write nothing more. */
    final class LostException extends IOException {
        private static final long serialVersionUID = 1L;

        LostException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Thrown when OUT_DIR's file system can hold no lock and the user did not say to go without: one line. */
    final class UnsupportedException extends IOException {
        private static final long serialVersionUID = 1L;

        UnsupportedException(String message) {
            super(message);
        }
    }

    /** Whether to lock OUT_DIR: {@code auto} on HDFS and local paths, {@code none} never. */
    enum Mode {
        AUTO, NONE;

        /** The value of {@value RunLock#SETTING}; null when it is not one of ours. */
        public static Mode parse(String value) {
            return switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "auto" -> AUTO;
                case "none" -> NONE;
                default -> null;
            };
        }
    }

    /** Takes OUT_DIR's lock ({@link Mode#AUTO}). */
    static RunLock acquire(Configuration conf, Path outDir, String owner) throws IOException {
        return acquire(conf, outDir, owner, Mode.AUTO);
    }

    /**
     * Takes OUT_DIR's lock for this run; refuses with {@link HeldException} while another run holds it.
     *
     * @param owner who this run is, for the message another run gets (e.g. "emaspark Train of alice")
     */
    static RunLock acquire(Configuration conf, Path outDir, String owner, Mode mode) throws IOException {
        Logger log = LoggerFactory.getLogger(RunLock.class);
        if (mode == Mode.NONE) {
            log.warn("OUT_DIR {} is not locked ({}=none): nothing keeps a second run from writing into it", outDir, SETTING);
            return new Unlocked();
        }
        FileSystem fs = outDir.getFileSystem(conf);
        if (fs instanceof ViewFileSystem) {
            fs.mkdirs(outDir);
            outDir = fs.resolvePath(outDir); // the file system that really holds OUT_DIR, behind the mount table
            fs = outDir.getFileSystem(conf);
        }
        if (fs instanceof DistributedFileSystem) {
            return HdfsLease.acquire(conf, outDir, owner);
        }
        if (fs instanceof LocalFileSystem || fs instanceof RawLocalFileSystem) {
            fs.mkdirs(outDir);
            return LocalFileLock.acquire(new java.io.File(fs.makeQualified(outDir).toUri().getPath()).toPath(), outDir, owner);
        }
        throw new UnsupportedException("OUT_DIR " + outDir + " is on a file system (" + fs.getScheme() + ") that can hold no "
                + "lock, so nothing would keep two runs from writing into it at once: give an OUT_DIR on HDFS or a local or NFS "
                + "path, or set " + SETTING + "=none if you make sure only one run uses it");
    }

    /** Proves now that this run still holds the lock; throws if it lost it. */
    @Override
    void confirm() throws IOException;

    /** Releases the lock if this run still holds it; never touches a lock another run took over. */
    @Override
    void close() throws IOException;

    /** {@value #SETTING}=none: the user keeps other runs away. */
    final class Unlocked implements RunLock {
        @Override
        public void confirm() {}

        @Override
        public void close() {}
    }
}
