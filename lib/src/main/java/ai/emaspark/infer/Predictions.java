package ai.emaspark.infer;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The output column: the top class and the top k, each as class index, wnid, name and probability
 * (softmax of the logits; the raw logit when softmax is off). Ranked by logit, a tie going to the lower
 * class index, so class_index is the argmax the evaluation's top-1 counts.
 */
final class Predictions {
    static final StructType CLASS = DataTypes.createStructType(new StructField[] {
        DataTypes.createStructField("class_index", DataTypes.IntegerType, false),
        DataTypes.createStructField("wnid", DataTypes.StringType, true),
        DataTypes.createStructField("name", DataTypes.StringType, true),
        DataTypes.createStructField("probability", DataTypes.FloatType, false)});

    /** The top class's fields, then top_k: null for a row whose image did not decode. */
    static final StructType SCHEMA = CLASS.add(DataTypes.createStructField("top_k", DataTypes.createArrayType(CLASS, false), false));

    private final ClassLabels labels;
    private final int topK;
    private final boolean softmax;

    Predictions(ClassLabels labels, int topK, boolean softmax) {
        this.labels = labels;
        this.topK = Math.min(topK, labels.count());
        this.softmax = softmax;
    }

    /** The prediction of one image from its row of {@code logits} (count x classes, row-major). */
    Row of(float[] logits, int image) {
        int classes = labels.count();
        int base = image * classes;
        float[] scores = softmax ? softmax(logits, base, classes) : java.util.Arrays.copyOfRange(logits, base, base + classes);
        List<Row> ranked = new ArrayList<>(topK);
        boolean[] taken = new boolean[classes];
        for (int k = 0; k < topK; k++) {
            int best = -1;
            for (int c = 0; c < classes; c++) {
                if (!taken[c] && (best < 0 || logits[base + c] > logits[base + best])) {
                    best = c;
                }
            }
            taken[best] = true;
            ranked.add(RowFactory.create(best, labels.wnids().get(best), labels.names().get(best), scores[best]));
        }
        Row top = ranked.get(0);
        return RowFactory.create(top.get(0), top.get(1), top.get(2), top.get(3), CollectionConverters.asScala(ranked)); // a Seq, as Row wants
    }

    /** Softmax in double (exp of the logit minus the row's maximum), stored as float. */
    private static float[] softmax(float[] logits, int base, int classes) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
            max = Math.max(max, logits[base + c]);
        }
        double[] exp = new double[classes];
        double sum = 0;
        for (int c = 0; c < classes; c++) {
            exp[c] = Math.exp(logits[base + c] - max);
            sum += exp[c];
        }
        float[] out = new float[classes];
        for (int c = 0; c < classes; c++) {
            out[c] = (float) (exp[c] / sum);
        }
        return out;
    }
}
