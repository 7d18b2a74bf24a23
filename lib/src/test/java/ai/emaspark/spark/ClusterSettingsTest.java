package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** Encryption of the job's own sockets only with Spark's authentication: else its key travels in a broadcast. */
class ClusterSettingsTest {
    private static SparkConf conf(String... pairs) {
        SparkConf conf = new SparkConf(false);
        for (int i = 0; i < pairs.length; i += 2) {
            conf.set(pairs[i], pairs[i + 1]);
        }
        return conf;
    }

    @Test
    void encryptionWithoutAuthenticationIsRefusedInOneLine() {
        assertEquals("spark.emaspark.crypto.enabled needs spark.authenticate true: without it the key travels in a broadcast "
                + "anyone who reaches Spark's block managers can fetch; turn spark.authenticate on (YARN gives each "
                + "application its own secret; elsewhere set spark.authenticate.secret), or leave spark.emaspark.crypto.enabled off",
                ClusterSettings.cryptoProblem(conf("spark.emaspark.crypto.enabled", "true")));
        assertEquals(ClusterSettings.cryptoProblem(conf("spark.emaspark.crypto.enabled", "true")),
                ClusterSettings.cryptoProblem(conf("spark.emaspark.crypto.enabled", "true", "spark.authenticate", "false")));
    }

    @Test
    void encryptionWithAuthenticationAndNoEncryptionAreFine() {
        assertNull(ClusterSettings.cryptoProblem(conf("spark.emaspark.crypto.enabled", "true", "spark.authenticate", "true")));
        assertNull(ClusterSettings.cryptoProblem(conf()));
        assertNull(ClusterSettings.cryptoProblem(conf("spark.emaspark.crypto.enabled", "false")));
    }
}
