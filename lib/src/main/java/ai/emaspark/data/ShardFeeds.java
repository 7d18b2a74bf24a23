package ai.emaspark.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/** Feeds of encoded rows for {@link BatchLoader}: a rank's plan windows, or whole shards. */
public final class ShardFeeds {
    private ShardFeeds() {}

    /** The rank's own windows, then its reserve, then its own windows again, endlessly. */
    public static Iterator<ImageRow> training(ShardPlan plan, int rank, List<Path> shards, Configuration conf) {
        List<ShardPlan.Window> cycle = new ArrayList<>(plan.windows(rank));
        cycle.addAll(plan.reserve(rank));
        return new WindowFeed(cycle, true, new ShardStream(shards, conf));
    }

    /** Every row of {@code shards}, once, in file order. */
    public static Iterator<ImageRow> whole(List<Path> shards, long[] rows, Configuration conf) {
        List<ShardPlan.Window> windows = new ArrayList<>();
        for (int i = 0; i < shards.size(); i++) {
            for (long from = 0; from < rows[i]; from += 1024) {
                int to = (int) Math.min(rows[i], from + 1024);
                int[] order = new int[to - (int) from];
                for (int j = 0; j < order.length; j++) {
                    order[j] = j;
                }
                windows.add(new ShardPlan.Window(i, (int) from, to, order));
            }
        }
        return new WindowFeed(windows, false, new ShardStream(shards, conf));
    }

    private static final class WindowFeed implements Iterator<ImageRow>, AutoCloseable {
        private final List<ShardPlan.Window> windows;
        private final boolean cycle;
        private final ShardStream stream;
        private int window;
        private ImageRow[] rows = new ImageRow[0];
        private int next;

        WindowFeed(List<ShardPlan.Window> windows, boolean cycle, ShardStream stream) {
            this.windows = windows;
            this.cycle = cycle;
            this.stream = stream;
        }

        @Override
        public boolean hasNext() {
            while (next == rows.length) {
                if (window == windows.size()) {
                    if (!cycle || windows.isEmpty()) {
                        close();
                        return false;
                    }
                    window = 0;
                }
                try {
                    rows = stream.read(windows.get(window++));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                next = 0;
            }
            return true;
        }

        @Override
        public ImageRow next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return rows[next++];
        }

        @Override
        public void close() {
            try {
                stream.close();
            } catch (IOException ignored) {
                // end of the feed
            }
        }
    }
}
