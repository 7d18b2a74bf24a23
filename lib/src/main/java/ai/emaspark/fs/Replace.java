package ai.emaspark.fs;

import java.io.IOException;
import java.util.UUID;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Moves that never nest and replacements that never lose the old version, on any Hadoop
 * FileSystem. HDFS's rename(src, dst) moves src <em>into</em> dst when dst is a folder, and
 * replacing a file or folder by delete-then-rename loses both when a crash comes between the two.
 * Here a replacement first moves the old version aside ({@code .NAME.old-UUID} beside it), then
 * moves the new one in, then deletes the old; {@link #restore} puts an aside version back when a
 * crash came between the two moves. Callers own the folder (the run's OUT_DIR lock), so nothing
 * else renames there meanwhile.
 */
public final class Replace {
    private static final String OLD = ".old-";

    private Replace() {}

    /** Moves {@code src} to {@code dst}, which must not exist: fails rather than nest. */
    public static void move(FileSystem fs, Path src, Path dst) throws IOException {
        if (fs.exists(dst)) {
            throw new IOException("will not move " + src + " to " + dst + ": it exists");
        }
        if (!fs.rename(src, dst) || !fs.exists(dst)) {
            throw new IOException("could not move " + src + " to " + dst);
        }
    }

    /** Puts {@code fresh} in place of {@code target} (file or folder); at every moment one whole version exists. */
    public static void replace(FileSystem fs, Path fresh, Path target) throws IOException {
        Path aside = null;
        if (fs.exists(target)) {
            aside = new Path(target.getParent(), "." + target.getName() + OLD + UUID.randomUUID());
            move(fs, target, aside);
        }
        try {
            move(fs, fresh, target);
        } catch (IOException | RuntimeException e) {
            putBack(fs, aside, target);
            throw e;
        }
        if (aside != null) {
            fs.delete(aside, true); // if this fails, restore deletes it later
        }
    }

    /** A writer that is still alive undoes its first move at once rather than leave it to {@link #restore}. */
    private static void putBack(FileSystem fs, Path aside, Path target) {
        try {
            if (aside != null && !fs.exists(target)) {
                move(fs, aside, target);
            }
        } catch (IOException | RuntimeException ignored) {
            // restore puts it back when the run next starts
        }
    }

    /** Removes what a failed writer left at {@code temp}, if anything; never fails (the failure that led here matters more). */
    public static void discard(FileSystem fs, Path temp) {
        try {
            if (fs.exists(temp)) {
                fs.delete(temp, true);
            }
        } catch (IOException | RuntimeException ignored) {
            // the next run's restore and cleanup take care of it
        }
    }

    /**
     * After a crash: an aside version whose target is missing goes back in place; aside versions whose
     * target exists are deleted. Returns how many were put back.
     */
    public static int restore(FileSystem fs, Path folder) throws IOException {
        if (!fs.exists(folder)) {
            return 0;
        }
        int restored = 0;
        for (FileStatus status : fs.listStatus(folder)) {
            String name = status.getPath().getName();
            int mark = name.lastIndexOf(OLD);
            if (!name.startsWith(".") || mark < 1) {
                continue;
            }
            Path target = new Path(folder, name.substring(1, mark));
            if (fs.exists(target)) {
                fs.delete(status.getPath(), true);
            } else {
                move(fs, status.getPath(), target);
                restored++;
            }
        }
        return restored;
    }

    /**
     * {@link #restore}, then removes the hidden ".NAME.tmp-..." folders of writers that died before
     * moving them into place. Returns how many folders were put back or removed.
     */
    public static int recover(FileSystem fs, Path folder) throws IOException {
        int count = restore(fs, folder);
        if (fs.exists(folder)) {
            for (FileStatus status : fs.listStatus(folder)) {
                if (status.getPath().getName().startsWith(".") && status.getPath().getName().contains(".tmp-")) {
                    fs.delete(status.getPath(), true);
                    count++;
                }
            }
        }
        return count;
    }
}
