package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/**
 * The job's own settings refused in one line before Spark starts: encryption of its sockets only with
 * Spark's authentication (else its key travels in a broadcast), a wire format or bucket count it has not.
 */
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
                ClusterSettings.problem(conf("spark.emaspark.crypto.enabled", "true")));
        assertEquals(ClusterSettings.problem(conf("spark.emaspark.crypto.enabled", "true")),
                ClusterSettings.problem(conf("spark.emaspark.crypto.enabled", "true", "spark.authenticate", "false")));
    }

    @Test
    void encryptionWithAuthenticationAndNoEncryptionAreFine() {
        assertNull(ClusterSettings.problem(conf("spark.emaspark.crypto.enabled", "true", "spark.authenticate", "true")));
        assertNull(ClusterSettings.problem(conf()));
        assertNull(ClusterSettings.problem(conf("spark.emaspark.crypto.enabled", "false")));
    }

    @Test
    void anUnknownWireFormatOrBucketCountIsRefusedInOneLine() {
        assertEquals("spark.emaspark.ring.wire: wire format 'fp16' is not one of fp32, bf16; set fp32 (exact) or bf16 (half the bytes)",
                ClusterSettings.problem(conf("spark.emaspark.ring.wire", "fp16")));
        assertEquals("spark.emaspark.ring.buckets is '0': set a whole number from 1 (one pass) to 9999",
                ClusterSettings.problem(conf("spark.emaspark.ring.buckets", "0")));
        assertEquals("spark.emaspark.ring.buckets is 'four': set a whole number from 1 (one pass) to 9999",
                ClusterSettings.problem(conf("spark.emaspark.ring.buckets", "four")));
        assertNull(ClusterSettings.problem(conf("spark.emaspark.ring.wire", "BF16", "spark.emaspark.ring.buckets", "4")));
        ClusterSettings settings = ClusterSettings.of(conf("spark.emaspark.ring.wire", "bf16", "spark.emaspark.ring.buckets", "4"));
        assertEquals(ai.emaspark.comm.WireFormat.BF16, settings.ringWire());
        assertEquals(4, settings.ringBuckets());
        assertEquals(1, settings.ringStreams());
    }

    @Test
    void aStreamCountOutsideOneToSixteenIsRefusedInOneLine() {
        for (String bad : new String[] {"0", "17", "two", "-1"}) {
            assertEquals("spark.emaspark.ring.streams is '" + bad + "': set a whole number from 1 (one connection per link) to 16",
                    ClusterSettings.problem(conf("spark.emaspark.ring.streams", bad)));
        }
        ClusterSettings settings = ClusterSettings.of(conf("spark.emaspark.ring.streams", " 4 "));
        assertEquals(4, settings.ringStreams());
        assertEquals("gradients all-reduced in fp32 on the wire (exact), one pass, then the step, 4 connections per link",
                settings.exchange());
    }
}
