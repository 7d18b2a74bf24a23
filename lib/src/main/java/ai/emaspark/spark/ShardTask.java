package ai.emaspark.spark;

import ai.emaspark.data.ImageRow;
import ai.emaspark.data.Manifest;
import ai.emaspark.data.ShardInfo;
import ai.emaspark.data.ShardWriter;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import scala.Tuple2;

/** Writes one shard from its sorted rows; reports the shard and the rows that were skipped. */
final class ShardTask {
    record Result(ShardInfo shard, List<Manifest.Skipped> skipped, long heapPeakMb) implements Serializable {}

    private ShardTask() {}

    static Result write(Iterator<Tuple2<PrepareDriver.ShardKey, ImageRow>> rows, String dir, String split, int index,
            int shards, Configuration conf) throws IOException {
        Path path = new Path(dir, String.format("%s-%05d-of-%05d.parquet", split, index, shards));
        List<Manifest.Skipped> skipped = new ArrayList<>();
        ShardWriter writer = null;
        try {
            while (rows.hasNext()) {
                ImageRow row = rows.next()._2();
                if (row.isSkipped()) {
                    skipped.add(new Manifest.Skipped(row.source(), row.skipReason()));
                    continue;
                }
                if (writer == null) {
                    writer = new ShardWriter(path.getFileSystem(conf), path, conf);
                }
                writer.write(row);
            }
            ShardInfo shard = writer == null ? null : writer.finish();
            return new Result(shard, skipped, HeapPeak.megabytes());
        } finally {
            if (writer != null) {
                writer.close();
            }
        }
    }
}
