package ai.emaspark.data;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Reads an image file's bytes from any Hadoop FileSystem (HDFS, local, object stores). */
public final class ImageSource {
    private final Configuration conf;

    public ImageSource(Configuration conf) {
        this.conf = conf;
    }

    public byte[] read(String path) throws IOException {
        FileSystem fs = FileSystem.get(URI.create(path), conf);
        try (InputStream in = fs.open(new Path(path))) {
            return in.readAllBytes();
        }
    }
}
