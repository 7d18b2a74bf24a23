package ai.emaspark.data;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@code manifest.json} of a prepared dataset: classes (sorted wnids = class index), their names,
 * and per split the shards with rows, bytes and SHA-256, and every file left out with its reason.
 */
public record Manifest(
        @JsonProperty("format_version") int formatVersion,
        @JsonProperty("source") String source,
        @JsonProperty("classes") List<String> classes,
        @JsonProperty("class_names") Map<String, String> classNames,
        @JsonProperty("splits") Map<String, Split> splits) {

    public static final String FILE = "manifest.json";
    public static final int FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public record Split(
            @JsonProperty("images") long images,
            @JsonProperty("bytes") long bytes,
            @JsonProperty("shards") List<ShardInfo> shards,
            @JsonProperty("skipped") List<Skipped> skipped) {}

    public record Skipped(@JsonProperty("source") String source, @JsonProperty("reason") String reason)
            implements java.io.Serializable {}

    public void write(FileSystem fs, Path dir) throws IOException {
        try (OutputStream out = fs.create(new Path(dir, FILE), true)) {
            JSON.writeValue(out, this);
        }
    }

    public static Manifest read(FileSystem fs, Path dir) throws IOException {
        try (InputStream in = fs.open(new Path(dir, FILE))) {
            return JSON.readValue(in, Manifest.class);
        }
    }
}
