package ai.emaspark.spark;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import scala.Tuple2;

/**
 * Hadoop settings as Spark passes them: every {@code spark.hadoop.*} property, prefix removed.
 * Kept as plain strings so tasks can rebuild the Configuration (which is not serializable).
 */
public final class HadoopSettings {
    private HadoopSettings() {}

    public static Map<String, String> of(SparkConf sparkConf) {
        Map<String, String> settings = new LinkedHashMap<>();
        for (Tuple2<String, String> entry : sparkConf.getAllWithPrefix("spark.hadoop.")) {
            settings.put(entry._1(), entry._2());
        }
        return settings;
    }

    /**
     * What a live Hadoop configuration sets beyond Hadoop's defaults: Spark's {@code spark.hadoop.*} and
     * whatever was set at runtime ({@code sc.hadoopConfiguration().set(...)}, as a notebook does for
     * credentials), so executors see what the driver sees.
     */
    public static Map<String, String> of(Configuration live) {
        Configuration defaults = new Configuration();
        Map<String, String> settings = new LinkedHashMap<>();
        for (Map.Entry<String, String> entry : live) {
            if (!entry.getValue().equals(defaults.getRaw(entry.getKey()))) {
                settings.put(entry.getKey(), entry.getValue());
            }
        }
        return settings;
    }

    public static Configuration configuration(Map<String, String> settings) {
        Configuration conf = new Configuration();
        settings.forEach(conf::set);
        return conf;
    }
}
