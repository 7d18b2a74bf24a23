package ai.emaspark.infer;

import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;

/**
 * {@link ImageClassifier}'s Params with their defaults and getters, as Spark ML finds them (public methods
 * returning a Param); the fluent setters are ImageClassifier's own.
 */
public abstract class ImageClassifierParams extends Transformer {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final Param<String> checkpoint;
    private final Param<String> entry;
    private final Param<String> dataset;
    private final Param<String> checkpointSha256;
    private final BooleanParam followNewest;
    private final IntParam topK;
    private final BooleanParam applySoftmax;
    private final IntParam batchSize;
    private final IntParam decodeThreads;

    /** Spark ML's check of an entry's value: what {@link CheckpointEntry#parse} accepts. */
    private static final class EntryName extends scala.runtime.AbstractFunction1<String, Object> implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public Object apply(String value) {
            try {
                CheckpointEntry.parse(value);
                return true;
            } catch (InferenceException e) {
                return false;
            }
        }
    }

    ImageClassifierParams(String uid) {
        this.uid = uid;
        inputCol = new Param<>(this, "inputCol", "column of image file bytes (binary) or Spark's image struct");
        outputCol = new Param<>(this, "outputCol", "column to add: struct of class_index, wnid, name, probability, top_k");
        checkpoint = new Param<>(this, "checkpoint", "a checkpoint folder (OUT_DIR/checkpoints/model_epoch_NNNN or best) or a "
                + "run's OUT_DIR (its newest checkpoint that verifies), any Hadoop URI");
        entry = new Param<>(this, "entry", "weights to score with: ema, model, best (the lower top-1 error of the two in "
                + "the checkpoint's meta.json), or a power EMA of EMA.POWER_SIGMA_RELS by name (p0.100)", new EntryName());
        dataset = new Param<>(this, "dataset", "prepared dataset whose manifest.json names the classes; empty: the "
                + "checkpoint's TRAIN.DATASET");
        topK = new IntParam(this, "topK", "classes listed in top_k, best first (at most the model's classes)", ParamValidators.gtEq(1));
        applySoftmax = new BooleanParam(this, "applySoftmax", "probabilities by softmax; false: the raw logits");
        batchSize = new IntParam(this, "batchSize", "images per forward pass; 0: the evaluation's (TEST.BATCH_SIZE / NUM_GPUS)",
                ParamValidators.gtEq(0));
        decodeThreads = new IntParam(this, "decodeThreads", "image decode threads per task; 0: DATA_LOADER.NUM_WORKERS",
                ParamValidators.gtEq(0));
        checkpointSha256 = new Param<>(this, "checkpointSha256", "SHA-256 of the weights this classifier scores with, recorded "
                + "when it is saved; other weights are refused unless followNewest; empty: whatever the checkpoint holds");
        followNewest = new BooleanParam(this, "followNewest", "score with whatever weights the checkpoint (OUT_DIR, best) holds "
                + "now, even if they are not the ones recorded in checkpointSha256");
        setDefault(checkpointSha256, "");
        setDefault(followNewest, false);
        setDefault(inputCol, "image");
        setDefault(outputCol, "prediction");
        setDefault(entry, "ema");
        setDefault(dataset, "");
        setDefault(topK, 5);
        setDefault(applySoftmax, true);
        setDefault(batchSize, 0);
        setDefault(decodeThreads, 0);
    }

    @Override
    public String uid() {
        return uid;
    }

    public Param<String> inputCol() {
        return inputCol;
    }

    public Param<String> outputCol() {
        return outputCol;
    }

    public Param<String> checkpoint() {
        return checkpoint;
    }

    public Param<String> entry() {
        return entry;
    }

    public Param<String> dataset() {
        return dataset;
    }

    public IntParam topK() {
        return topK;
    }

    public BooleanParam applySoftmax() {
        return applySoftmax;
    }

    public IntParam batchSize() {
        return batchSize;
    }

    public IntParam decodeThreads() {
        return decodeThreads;
    }

    public Param<String> checkpointSha256() {
        return checkpointSha256;
    }

    public BooleanParam followNewest() {
        return followNewest;
    }

    public String getCheckpointSha256() {
        return getOrDefault(checkpointSha256);
    }

    public boolean getFollowNewest() {
        return (Boolean) getOrDefault(followNewest);
    }

    public String getInputCol() {
        return getOrDefault(inputCol);
    }

    public String getOutputCol() {
        return getOrDefault(outputCol);
    }

    public String getCheckpoint() {
        return isDefined(checkpoint) ? getOrDefault(checkpoint) : null;
    }

    public String getEntry() {
        return getOrDefault(entry);
    }

    public String getDataset() {
        return getOrDefault(dataset);
    }

    public int getTopK() {
        return (Integer) getOrDefault(topK);
    }

    public boolean getApplySoftmax() {
        return (Boolean) getOrDefault(applySoftmax);
    }

    public int getBatchSize() {
        return (Integer) getOrDefault(batchSize);
    }

    public int getDecodeThreads() {
        return (Integer) getOrDefault(decodeThreads);
    }
}
