package ai.emaspark.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import org.apache.hadoop.fs.Path;

/**
 * OUT_DIR's lock on a local or NFS path: an OS lock ({@code fcntl}) on {@code .lock}, which the OS
 * gives to one process at a time and drops when that process dies, so two drivers started together
 * cannot both get it and a killed driver's lock is free at once, with no waiting. The file stays
 * (emptied on release): deleting it would let a run that opened the old file and one that created a
 * new one both hold "the" lock. On NFS this needs locking on the mount (NFSv4, or v3 with lockd; not
 * {@code nolock}).
 */
final class LocalFileLock implements RunLock {
    private final java.nio.file.Path file;
    private final Path outDir;
    private final FileChannel channel;
    private final FileLock lock;
    private final Object fileKey;

    private LocalFileLock(java.nio.file.Path file, Path outDir, FileChannel channel, FileLock lock, Object fileKey) {
        this.file = file;
        this.outDir = outDir;
        this.channel = channel;
        this.lock = lock;
        this.fileKey = fileKey;
    }

    static LocalFileLock acquire(java.nio.file.Path dir, Path outDir, String owner) throws IOException {
        java.nio.file.Path file = dir.resolve(RunLock.FILE);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            FileLock lock = tryLock(channel);
            if (lock == null) {
                throw new RunLock.HeldException(outDir, LockFile.owner(Files.readString(file, StandardCharsets.UTF_8)));
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(LockFile.ownerLine(owner).getBytes(StandardCharsets.UTF_8)), 0);
            channel.force(true);
            return new LocalFileLock(file, outDir, channel, lock, key(file));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** The lock, or null while another process (or this one, through another channel) holds it. */
    private static FileLock tryLock(FileChannel channel) throws IOException {
        try {
            return channel.tryLock();
        } catch (OverlappingFileLockException heldInThisJvm) {
            return null;
        }
    }

    private static Object key(java.nio.file.Path file) throws IOException {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Held while the OS lock is and {@code .lock} is still the file it is on (not deleted or replaced by hand). */
    @Override
    public void confirm() throws IOException {
        if (!lock.isValid() || fileKey != null && !Objects.equals(fileKey, key(file))) {
            throw new RunLock.LostException("this run lost the lock " + file + " (released, or the file was deleted or replaced): another "
                    + "run may be writing to OUT_DIR " + outDir + "; stopping without writing more", null);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            if (lock.isValid()) {
                channel.truncate(0); // released: a run that reads it now names no owner
                lock.release();
            }
        } finally {
            channel.close();
        }
    }
}
