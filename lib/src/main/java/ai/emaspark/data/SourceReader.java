package ai.emaspark.data;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads the images of one source unit on an executor: every file is read, checked and turned into
 * an {@link ImageRow}, or into a skipped row that says why. Tars are streamed from the file system,
 * never unpacked to local disk.
 */
public final class SourceReader {
    public interface RowSink {
        void accept(ImageRow row) throws IOException;
    }

    private final Configuration conf;
    private final Map<String, Integer> labels;
    private final ImageLimits limits;

    public SourceReader(Configuration conf, List<String> classes) {
        this(conf, classes, ImageLimits.DEFAULT);
    }

    /** Reads and checks against {@code limits}: larger images are left out, as undecodable ones are. */
    public SourceReader(Configuration conf, List<String> classes, ImageLimits limits) {
        this.limits = limits;
        this.conf = conf;
        this.labels = new java.util.HashMap<>();
        for (int i = 0; i < classes.size(); i++) {
            labels.put(classes.get(i), i);
        }
    }

    /** Bytes and file count of the unit, from listings only (for sizing the shards). */
    public long[] size(SourceUnit unit) throws IOException {
        switch (unit.kind()) {
            case CLASS_DIR: {
                long bytes = 0;
                long count = 0;
                for (FileStatus status : fs(unit.path()).listStatus(new Path(unit.path()))) {
                    if (status.isFile() && ImageNetSources.isImageName(status.getPath().getName())) {
                        bytes += status.getLen();
                        count++;
                    }
                }
                return new long[] {bytes, count};
            }
            case CLASS_TAR:
                return new long[] {fs(unit.path()).getFileStatus(new Path(unit.path())).getLen(), 0};
            default: {
                long bytes = 0;
                for (String file : unit.files()) {
                    bytes += fs(file).getFileStatus(new Path(file)).getLen();
                }
                return new long[] {bytes, unit.files().size()};
            }
        }
    }

    public void read(SourceUnit unit, RowSink sink) throws IOException {
        switch (unit.kind()) {
            case CLASS_DIR -> {
                FileStatus[] statuses = fs(unit.path()).listStatus(new Path(unit.path()));
                java.util.Arrays.sort(statuses, java.util.Comparator.comparing(s -> s.getPath().getName()));
                for (FileStatus status : statuses) {
                    if (status.isFile() && ImageNetSources.isImageName(status.getPath().getName())) {
                        readFile(status.getPath().toString(), unit.wnid(), sink);
                    }
                }
            }
            case CLASS_TAR -> readTar(unit, sink);
            default -> {
                for (int i = 0; i < unit.files().size(); i++) {
                    readFile(unit.files().get(i), unit.fileWnids().get(i), sink);
                }
            }
        }
    }

    private void readFile(String path, String wnid, RowSink sink) throws IOException {
        byte[] bytes;
        try (InputStream in = fs(path).open(new Path(path))) {
            bytes = in.readAllBytes();
        }
        sink.accept(row(ImageNetSources.key(new Path(path)), path, wnid, bytes));
    }

    private void readTar(SourceUnit unit, RowSink sink) throws IOException {
        try (InputStream file = fs(unit.path()).open(new Path(unit.path()));
                TarArchiveInputStream tar = new TarArchiveInputStream(new java.io.BufferedInputStream(file, 1 << 20))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                String name = entry.getName().substring(entry.getName().lastIndexOf('/') + 1);
                if (entry.isFile() && ImageNetSources.isImageName(name)) {
                    byte[] bytes = tar.readAllBytes();
                    sink.accept(row(ImageNetSources.key(new Path(name)), unit.path() + "!" + entry.getName(), unit.wnid(), bytes));
                }
            }
        }
    }

    private ImageRow row(String key, String source, String wnid, byte[] bytes) {
        Integer label = labels.get(wnid);
        if (label == null) {
            return ImageRow.skipped(key, source, "class " + wnid + " is not among the training classes");
        }
        ImageCheck.Result check = ImageCheck.check(bytes, limits);
        if (!check.ok()) {
            return ImageRow.skipped(key, source, check.problem());
        }
        return new ImageRow(key, source, label, wnid, bytes, check.width(), check.height(), null);
    }

    private FileSystem fs(String path) throws IOException {
        return FileSystem.get(URI.create(path), conf);
    }
}
