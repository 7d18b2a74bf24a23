package ai.emaspark.infer;

import ai.emaspark.data.ImageRow;
import ai.emaspark.data.Manifest;
import ai.emaspark.data.ShardReader;
import ai.emaspark.spark.HadoopSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.TaskCompletionListener;

/**
 * A split of a prepared dataset as rows (key, label, wnid, image), read the way the training job's
 * evaluation reads it: the manifest's shards in order, sliced over the same number of tasks, each task's
 * rows in file order. With the evaluation's batch size every batch then holds the same images as the
 * evaluation's did, so the scores are bit-identical (libtorch's CPU kernels change the last bits of a
 * logit with the batch's size).
 */
final class PreparedSplit {
    static final StructType SCHEMA = DataTypes.createStructType(new StructField[] {
        DataTypes.createStructField("key", DataTypes.StringType, false),
        DataTypes.createStructField("label", DataTypes.IntegerType, false),
        DataTypes.createStructField("wnid", DataTypes.StringType, false),
        DataTypes.createStructField("image", DataTypes.BinaryType, false)});

    private PreparedSplit() {}

    /** Whether {@code folder} is a split of a prepared dataset: its parent's manifest.json lists it. */
    static boolean is(FileSystem fs, Path folder) throws IOException {
        Path manifest = new Path(folder.getParent(), Manifest.FILE);
        return fs.exists(manifest) && Manifest.read(fs, folder.getParent()).splits().containsKey(folder.getName());
    }

    /** The split's rows over {@code tasks} tasks at most (the evaluation: NUM_GPUS), shards in the manifest's order. */
    static Dataset<Row> read(SparkSession spark, Path split, int tasks, Map<String, String> hadoop) throws IOException {
        Configuration conf = HadoopSettings.configuration(hadoop);
        Manifest.Split shards = Manifest.read(split.getFileSystem(conf), split.getParent()).splits().get(split.getName());
        List<String> paths = shards.shards().stream().map(s -> new Path(split, s.name()).toString()).toList();
        // As TrainDriver.evaluate slices them: parallelize(shards, min(NUM_GPUS, shards)).
        return spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(paths, Math.max(1, Math.min(tasks, paths.size()))).mapPartitions(new ReadShards(hadoop)), SCHEMA);
    }

    private static final class ReadShards implements FlatMapFunction<Iterator<String>, Row> {
        private static final long serialVersionUID = 1L;
        private final Map<String, String> hadoop;

        ReadShards(Map<String, String> hadoop) {
            this.hadoop = Map.copyOf(hadoop);
        }

        @Override
        public Iterator<Row> call(Iterator<String> shards) {
            Rows rows = new Rows(shards, HadoopSettings.configuration(hadoop));
            // A task that fails or stops early must not leave its shard's HDFS stream open.
            TaskContext.get().addTaskCompletionListener((TaskCompletionListener) context -> rows.close());
            return rows;
        }
    }

    /** The rows of one shard after another, one shard open at a time. */
    private static final class Rows implements Iterator<Row> {
        private final Iterator<String> shards;
        private final Configuration conf;
        private ShardReader reader;
        private ImageRow next;

        Rows(Iterator<String> shards, Configuration conf) {
            this.shards = shards;
            this.conf = conf;
        }

        @Override
        public boolean hasNext() {
            try {
                while (next == null) {
                    if (reader == null) {
                        if (!shards.hasNext()) {
                            return false;
                        }
                        reader = new ShardReader(new Path(shards.next()), conf);
                    }
                    next = reader.next();
                    if (next == null) {
                        reader.close();
                        reader = null;
                    }
                }
                return true;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void close() {
            if (reader != null) {
                try {
                    reader.close();
                } catch (IOException ignored) {
                    // the task is over; nothing more is read from it
                }
                reader = null;
            }
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            Row row = RowFactory.create(next.key(), next.label(), next.wnid(), next.image());
            next = null;
            return row;
        }
    }
}
