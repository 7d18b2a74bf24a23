package ai.emaspark.fs;

import java.io.IOException;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FilterFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

/**
 * A file system whose writer dies before its {@code crashAt}-th change (create, mkdirs, rename,
 * delete): every step of a commit can be the last one that happened. The underlying file system is
 * what a restarted job then finds.
 */
public final class CrashingFileSystem extends FilterFileSystem {
    private final int crashAt;
    private final boolean survives;
    private int steps;

    public CrashingFileSystem(FileSystem fs, int crashAt) {
        this(fs, crashAt, false);
    }

    /** {@code survives}: only the {@code crashAt}-th change fails (a full quota, a lost lease); the writer lives on. */
    public CrashingFileSystem(FileSystem fs, int crashAt, boolean survives) {
        super(fs);
        this.crashAt = crashAt;
        this.survives = survives;
    }

    /** Changes made so far (all of them, when no crash came). */
    public int steps() {
        return steps;
    }

    public boolean crashed() {
        return steps >= crashAt;
    }

    private void step(String what, Path path) throws IOException {
        if (++steps == crashAt) {
            throw new IOException("injected crash before step " + crashAt + ": " + what + " " + path);
        }
        if (steps > crashAt && !survives) {
            throw new IOException("the writer is dead");
        }
    }

    @Override
    public FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite, int bufferSize, short replication,
            long blockSize, Progressable progress) throws IOException {
        step("create", f);
        return super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress);
    }

    @Override
    public boolean mkdirs(Path f, FsPermission permission) throws IOException {
        step("mkdirs", f);
        return super.mkdirs(f, permission);
    }

    @Override
    public boolean rename(Path src, Path dst) throws IOException {
        step("rename", src);
        return super.rename(src, dst);
    }

    @Override
    public boolean delete(Path f, boolean recursive) throws IOException {
        step("delete", f);
        return super.delete(f, recursive);
    }
}
