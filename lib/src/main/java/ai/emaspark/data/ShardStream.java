package ai.emaspark.data;

import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The rows of a list of plan windows, in the plan's order: each window's rows are read
 * sequentially from its shard into memory, then handed out in the window's seeded order. One shard
 * reader stays open while consecutive windows continue in the same shard.
 */
public final class ShardStream implements AutoCloseable {
    private final List<Path> shards;
    private final Configuration conf;
    private ShardReader reader;
    private int readerShard = -1;
    private long readerPosition;

    public ShardStream(List<Path> shards, Configuration conf) {
        this.shards = shards;
        this.conf = conf;
    }

    /** The rows of {@code window}, in its order. */
    public ImageRow[] read(ShardPlan.Window window) throws IOException {
        position(window.shard(), window.from());
        ImageRow[] rows = new ImageRow[window.size()];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = nextRow(window);
        }
        ImageRow[] ordered = new ImageRow[rows.length];
        for (int i = 0; i < rows.length; i++) {
            ordered[i] = rows[window.order()[i]];
        }
        return ordered;
    }

    private void position(int shard, int row) throws IOException {
        if (reader == null || readerShard != shard || readerPosition > row) {
            close();
            reader = new ShardReader(shards.get(shard), conf);
            readerShard = shard;
            readerPosition = 0;
        }
        while (readerPosition < row) {
            nextRow(null);
        }
    }

    private ImageRow nextRow(ShardPlan.Window window) throws IOException {
        ImageRow row = reader.next();
        if (row == null) {
            throw new IOException("shard " + shards.get(readerShard) + " ended at row " + readerPosition
                    + (window == null ? "" : ", the plan expects " + window.to() + " rows") + ": the manifest does not match it");
        }
        readerPosition++;
        return row;
    }

    @Override
    public void close() throws IOException {
        if (reader != null) {
            reader.close();
            reader = null;
        }
    }
}
