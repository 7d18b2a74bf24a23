package ai.emaspark.spark;

import ai.emaspark.comm.WireFormat;
import java.io.Serializable;
import java.time.Duration;
import org.apache.spark.SparkConf;

/**
 * The job's own Spark settings ({@code spark.emaspark.*}), read once on the driver: where the
 * gradient ring and the EMA service listen and how long the job waits for peers and for task slots.
 *
 * @param ringInterface network interface whose address the ring uses on every executor (as
 *     GLOO_SOCKET_IFNAME / NCCL_SOCKET_IFNAME); null: the address Spark knows the executor by
 * @param ringTimeout a rank whose ring peer sends or takes nothing for this long fails its attempt
 * @param ringBlockMacs whether every block of gradients on the ring is authenticated, by sealing it with
 *     AES-256-GCM, cheaper than any MAC alone here (connections and call headers are always
 *     authenticated); by default when spark.network.crypto.enabled asks Spark to protect its own streams
 * @param encrypt whether gradient blocks on the ring and EMA snapshots are encrypted (AES-256-GCM, which
 *     authenticates them too); by default when spark.network.crypto.enabled asks Spark to encrypt its own
 * @param emaBindAddress where the driver's EMA service listens
 * @param emaHost the address executors reach the EMA service at
 * @param emaPort the EMA service's port; 0 for any free port
 * @param slotsTimeout how long an epoch waits for the NUM_GPUS task slots of its barrier stage
 * @param ringBuckets passes of the gradient all-reduce, each averaged into the optimizer step while the
 *     next travels (1: one pass, then the step); the bits are the same for any number
 * @param ringWire how gradients travel between ranks: fp32, or bf16 (half the bytes; sums stay fp32)
 * @param ringStreams TCP connections per ring link, each carrying its part of every slice (for links one
 *     stream cannot fill); the bits are the same for any number
 */
public record ClusterSettings(
        String ringInterface,
        Duration ringTimeout,
        boolean ringBlockMacs,
        boolean encrypt,
        String emaBindAddress,
        String emaHost,
        int emaPort,
        Duration slotsTimeout,
        int ringBuckets,
        WireFormat ringWire,
        int ringStreams) implements Serializable {

    public static final String RING_INTERFACE = "spark.emaspark.ring.interface";
    public static final String RING_BUCKETS = "spark.emaspark.ring.buckets";
    public static final String RING_WIRE = "spark.emaspark.ring.wire";
    public static final String RING_STREAMS = "spark.emaspark.ring.streams";
    /** More streams than this only add threads and sockets: 8 fill a 100 Gbit/s link at a few Gbit/s each. */
    public static final int MAX_RING_STREAMS = 16;
    public static final String RING_TIMEOUT = "spark.emaspark.ring.timeout";
    public static final String RING_BLOCK_MACS = "spark.emaspark.ring.blockMacs";
    public static final String CRYPTO = "spark.emaspark.crypto.enabled";
    public static final String EMA_BIND_ADDRESS = "spark.emaspark.ema.bindAddress";
    public static final String EMA_HOST = "spark.emaspark.ema.host";
    public static final String EMA_PORT = "spark.emaspark.ema.port";
    public static final String SLOTS_TIMEOUT = "spark.emaspark.slots.timeout";

    /** What protects the job's own sockets beyond their authenticated handshakes, for the driver's log. */
    public String protection() {
        return encrypt ? "gradient blocks and EMA snapshots encrypted (AES-256-GCM)"
                : ringBlockMacs ? "gradient blocks and EMA snapshots sealed (AES-256-GCM), headers MAC'd (HMAC-SHA256)"
                : "EMA snapshots sealed (AES-256-GCM), headers MAC'd (HMAC-SHA256), gradient blocks bare";
    }

    /** How gradients travel, for the driver's log: the wire format and the passes of one exchange. */
    public String exchange() {
        String wire = ringWire == WireFormat.BF16 ? "bf16 on the wire (sums in fp32, loss and errors exact)" : "fp32 on the wire (exact)";
        String passes = ringBuckets == 1 ? "one pass, then the step" : ringBuckets + " buckets, each stepped while the next travels";
        String streams = ringStreams == 1 ? "" : ", " + ringStreams + " connections per link";
        return "gradients all-reduced in " + wire + ", " + passes + streams;
    }

    /**
     * Why this conf cannot run, in one line, or null: encryption asked for without spark.authenticate.
     * The run's key would then be the driver's random secret, which travels in the epoch's broadcast
     * that anyone reaching a block manager can fetch; Spark refuses its own network crypto so too.
     */
    static String cryptoProblem(SparkConf conf) {
        if (!conf.getBoolean(CRYPTO, false) || conf.getBoolean("spark.authenticate", false)) {
            return null;
        }
        return CRYPTO + " needs spark.authenticate true: without it the key travels in a broadcast anyone who reaches "
                + "Spark's block managers can fetch; turn spark.authenticate on (YARN gives each application its own "
                + "secret; elsewhere set spark.authenticate.secret), or leave " + CRYPTO + " off";
    }

    /** Why this conf cannot run, in one line naming the setting and what to set, or null; checked before Spark starts. */
    public static String problem(SparkConf conf) {
        String crypto = cryptoProblem(conf);
        if (crypto != null) {
            return crypto;
        }
        try {
            WireFormat.parse(conf.get(RING_WIRE, "fp32"));
        } catch (IllegalArgumentException e) {
            return RING_WIRE + ": " + e.getMessage() + "; set fp32 (exact) or bf16 (half the bytes)";
        }
        String buckets = conf.get(RING_BUCKETS, "1").trim();
        if (!buckets.matches("[1-9][0-9]{0,3}")) {
            return RING_BUCKETS + " is '" + buckets + "': set a whole number from 1 (one pass) to 9999";
        }
        String streams = conf.get(RING_STREAMS, "1").trim();
        if (!streams.matches("[1-9][0-9]?") || Integer.parseInt(streams) > MAX_RING_STREAMS) {
            return RING_STREAMS + " is '" + streams + "': set a whole number from 1 (one connection per link) to "
                    + MAX_RING_STREAMS;
        }
        return null;
    }

    /** Read from the driver's conf after the SparkContext started (spark.driver.host is set then); {@link #problem} first. */
    public static ClusterSettings of(SparkConf conf) {
        String driverHost = conf.get("spark.driver.host", "localhost");
        String ringInterface = conf.get(RING_INTERFACE, "").trim();
        boolean sparkEncrypts = conf.getBoolean("spark.network.crypto.enabled", false);
        return new ClusterSettings(
                ringInterface.isEmpty() ? null : ringInterface,
                Duration.ofMillis(conf.getTimeAsMs(RING_TIMEOUT, "120s")),
                conf.getBoolean(RING_BLOCK_MACS, sparkEncrypts),
                conf.getBoolean(CRYPTO, sparkEncrypts),
                conf.get(EMA_BIND_ADDRESS, conf.get("spark.driver.bindAddress", driverHost)),
                conf.get(EMA_HOST, driverHost),
                conf.getInt(EMA_PORT, 0),
                Duration.ofMillis(conf.getTimeAsMs(SLOTS_TIMEOUT, "30s")),
                Integer.parseInt(conf.get(RING_BUCKETS, "1").trim()),
                WireFormat.parse(conf.get(RING_WIRE, "fp32")),
                Integer.parseInt(conf.get(RING_STREAMS, "1").trim()));
    }
}
