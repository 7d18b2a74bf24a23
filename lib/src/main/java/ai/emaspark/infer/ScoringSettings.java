package ai.emaspark.infer;

import ai.emaspark.spark.HadoopSettings;
import java.io.Serializable;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * What every scoring task is told: the resolved model, where its input is in the row, and how to batch,
 * decode and report.
 *
 * @param inputIndex the input column's position in the rows
 * @param batchSize decoded images per forward pass (the evaluation's per-replica TEST batch by default)
 * @param decodeThreads threads decoding images per task
 * @param hadoop the spark.hadoop.* settings, to rebuild the Hadoop configuration on executors
 */
record ScoringSettings(ClassifierModel model, int inputIndex, ImageInput.Kind inputKind, int topK, boolean applySoftmax,
        int batchSize, int decodeThreads, Map<String, String> hadoop) implements Serializable {

    ScoringSettings {
        hadoop = Map.copyOf(hadoop);
    }

    ImageInput input() {
        return new ImageInput(inputKind, model.cropSize(), model.testSize(), model.cfg().getInt("DATA_LOADER.MAX_PIXELS"));
    }

    Predictions predictions() {
        return new Predictions(model.labels(), topK, applySoftmax);
    }

    Configuration hadoopConf() {
        return HadoopSettings.configuration(hadoop);
    }
}
