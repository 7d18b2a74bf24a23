package ai.emaspark.data;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;

/** Reads the rows of one shard in order. */
public final class ShardReader implements AutoCloseable {
    private final ParquetReader<Group> reader;

    public ShardReader(Path path, Configuration conf) throws IOException {
        this.reader = ParquetReader.builder(new GroupReadSupport(), path)
                .withConf(conf)
                .build();
    }

    /** The next row, or null at the end. */
    public ImageRow next() throws IOException {
        Group group = reader.read();
        if (group == null) {
            return null;
        }
        return new ImageRow(group.getString("key", 0), null, group.getInteger("label", 0), group.getString("wnid", 0),
                group.getBinary("image", 0).getBytes(), group.getInteger("width", 0), group.getInteger("height", 0), null);
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
