package ai.emaspark.infer;

import org.apache.hadoop.fs.Path;

/**
 * The Predict job's command line.
 *
 * @param checkpoint a checkpoint folder or a run's OUT_DIR
 * @param input a prepared split (e.g. DATASET/val: Parquet shards with labels) or a folder of image files
 * @param out the Parquet folder to write; refused when it exists unless {@code overwrite}
 * @param batchSize images per forward pass; 0 for the checkpoint's evaluation batch
 * @param dataset the prepared dataset naming the classes; blank for the checkpoint's TRAIN.DATASET
 * @param partitions scoring tasks; 0: a prepared split as the evaluation slices it (NUM_GPUS tasks), a folder as Spark lists it
 */
public record PredictSettings(String checkpoint, CheckpointEntry entry, Path input, Path out, int topK, int batchSize,
        String dataset, boolean overwrite, int partitions) {}
