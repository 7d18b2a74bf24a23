package ai.emaspark.infer;

import ai.emaspark.checkpoint.CheckpointMeta;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.config.Config;
import ai.emaspark.config.ConfigException;
import ai.emaspark.config.ConfigLoader;
import ai.emaspark.model.ModelSpec;
import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A checkpoint entry resolved once, on the driver, to everything executors need to score with it: the
 * checkpoint folder (pinned, so a run still writing checkpoints cannot change it mid-job), the weights
 * file, its meta.json, the config it was trained with and the classes. Reading the weights is the
 * executors' job ({@link ModelCache}).
 *
 * @param directory the checkpoint folder (model_epoch_NNNN or best)
 * @param file {@link CheckpointStore#EMA}, {@link CheckpointStore#MODEL} or a power EMA's entry (ema_p0.100.safetensors)
 * @param sha256 the entry's checksum when the job was planned: executors load exactly these weights
 */
public record ClassifierModel(String directory, String file, String sha256, CheckpointMeta meta, Config cfg, ModelSpec spec,
        ClassLabels labels) implements Serializable {

    /**
     * @param uri a checkpoint folder, or a run's OUT_DIR (then its newest checkpoint that verifies)
     * @param dataset the prepared dataset that names the classes; blank for the checkpoint's TRAIN.DATASET
     */
    public static ClassifierModel resolve(FileSystem fs, Path uri, CheckpointEntry entry, String dataset) throws IOException {
        Path directory = checkpointFolder(fs, uri);
        CheckpointStore store = new CheckpointStore(fs, uri);
        CheckpointMeta meta = store.meta(directory);
        Config cfg;
        try {
            cfg = ConfigLoader.load(meta.configYaml(), directory + "/" + CheckpointStore.META, List.of());
        } catch (ConfigException e) {
            throw new InferenceException("the config in " + directory + "/" + CheckpointStore.META + " does not load: " + e.getMessage());
        }
        ModelSpec spec = ModelSpec.of(cfg);
        Path classes = new Path(dataset == null || dataset.isBlank() ? cfg.getString("TRAIN.DATASET") : dataset);
        ClassLabels labels = ClassLabels.of(classes.getFileSystem(fs.getConf()), classes, spec.numClasses());
        String file = entry.file(meta);
        return new ClassifierModel(directory.toString(), file, store.stateSha256(directory, file), meta, cfg, spec, labels);
    }

    private static Path checkpointFolder(FileSystem fs, Path uri) throws IOException {
        if (fs.exists(new Path(uri, CheckpointStore.META))) {
            return uri;
        }
        CheckpointStore store = new CheckpointStore(fs, uri);
        if (!fs.exists(store.directory())) {
            throw new InferenceException(uri + " is neither a checkpoint (no " + CheckpointStore.META + ") nor a run's OUT_DIR (no "
                    + "checkpoints/): give OUT_DIR, OUT_DIR/checkpoints/model_epoch_NNNN or OUT_DIR/checkpoints/best");
        }
        return store.newestVerified().orElseThrow(() -> new InferenceException("the run " + uri
                + " has no checkpoint that verifies (none committed yet, or all damaged): give a checkpoint folder"));
    }

    /** "ema", "model" or a power EMA's "ema p0.100". */
    public String entryName() {
        String power = CheckpointStore.powerName(file);
        return power != null ? "ema " + power : file.equals(CheckpointStore.EMA) ? "ema" : "model";
    }

    /** The entry's top-1 error on TEST.SPLIT when the checkpoint was written (percent; 100 when unknown). */
    public double top1Err() {
        return meta.errorsOf(file).top1();
    }

    public double top5Err() {
        return meta.errorsOf(file).top5();
    }

    /** The epoch whose weights these are, counted from 1 as checkpoint folders are (best/ keeps each EMA of its own best epoch). */
    public int epoch() {
        return meta.errorsOf(file).epoch() + 1;
    }

    /** pycls's test transform sizes and the evaluation's batch per replica, from the training config. */
    public int cropSize() {
        return cfg.getInt("TRAIN.IM_SIZE");
    }

    public int testSize() {
        return cfg.getInt("TEST.IM_SIZE");
    }

    public int evalBatchSize() {
        return Math.max(1, cfg.getInt("TEST.BATCH_SIZE") / cfg.getInt("NUM_GPUS"));
    }

    /** For logs: "ema of hdfs://nn/runs/r/checkpoints/model_epoch_0003 (epoch 3, resnet-20, 10 classes, top-1 error 10.000 % on val)". */
    public String describe() {
        String model = spec.type() + (spec.type().equals("resnet") ? "-" + spec.depth() : "");
        return String.format(Locale.ROOT, "%s of %s (epoch %d, %s, %d classes, top-1 error %.3f %% on %s)", entryName(), directory,
                epoch(), model, spec.numClasses(), top1Err(), cfg.getString("TEST.SPLIT"));
    }
}
