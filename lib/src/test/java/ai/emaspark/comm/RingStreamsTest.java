package ai.emaspark.comm;

import static ai.emaspark.comm.RingTestSupport.SECRET;
import static ai.emaspark.comm.RingTestSupport.array;
import static ai.emaspark.comm.RingTestSupport.assertIoFailure;
import static ai.emaspark.comm.RingTestSupport.closeAll;
import static ai.emaspark.comm.RingTestSupport.onAllRanks;
import static ai.emaspark.comm.RingTestSupport.outcomes;
import static ai.emaspark.comm.RingTestSupport.ring;
import static ai.emaspark.comm.RingTestSupport.slab;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Several connections per link (spark.emaspark.ring.streams): the bits of one stream, in every wire and block mode. */
class RingStreamsTest {
    private static final int[] LENGTHS = {1, 3, 7, 1001, 300_007, 1_100_009}; // shorter than streams x world, odd, all 4 streams

    private static float[] input(int rank, int length) {
        Random random = new Random(31L * length + rank);
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
            a[i] = random.nextFloat() * 2 - 1;
        }
        return a;
    }

    /** Every length averaged on every rank, the bits of each (rank, length), plain and in 3 buckets. */
    private static List<int[]> bits(List<RingAllReduce> ring) throws Exception {
        List<int[]> all = new ArrayList<>();
        for (int length : LENGTHS) {
            for (int buckets : new int[] {1, 3}) {
                List<float[]> out = onAllRanks(ring.size(), r -> () -> {
                    FloatSlab a = slab(input(r, length));
                    ring.get(r).allReduceMean(a, 1, buckets, b -> { }); // the last element exact, as the loss
                    return array(a);
                });
                for (float[] a : out) {
                    int[] raw = new int[a.length];
                    for (int i = 0; i < a.length; i++) {
                        raw[i] = Float.floatToRawIntBits(a[i]);
                    }
                    all.add(raw);
                }
            }
        }
        return all;
    }

    private static List<int[]> bits(int world, RingAuth auth, WireFormat wire, int streams) throws Exception {
        List<RingAllReduce> ring = ring(world, RingAllReduce.DEFAULT_IO_TIMEOUT, auth, wire, streams);
        try {
            return bits(ring);
        } finally {
            closeAll(ring);
        }
    }

    @ParameterizedTest(name = "world {0}, {1}, blocks {2}")
    @CsvSource({"2, FP32, plain", "3, FP32, macs", "2, BF16, plain", "3, BF16, encrypted"})
    void anyNumberOfStreamsGivesTheBitsOfOne(int world, WireFormat wire, String blocks) throws Exception {
        RingAuth auth = new RingAuth(SECRET, RingTestSupport.CONTEXT, blocks.equals("macs"), blocks.equals("encrypted"));
        List<int[]> one = bits(world, auth, wire, 1);
        for (int streams : new int[] {2, 4}) {
            List<int[]> many = bits(world, auth, wire, streams);
            for (int k = 0; k < one.size(); k++) {
                assertArrayEquals(one.get(k), many.get(k), streams + " streams, result " + k + ": the bits of one stream");
            }
        }
    }

    @Test
    void ranksThatDisagreeOnTheStreamsRefuseEachOther() throws Exception {
        List<ServerSocketChannel> servers = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            servers.add(RingAllReduce.listen("127.0.0.1"));
            addresses.add("127.0.0.1:" + servers.get(r).socket().getLocalPort());
        }
        long start = System.nanoTime();
        try {
            List<RingTestSupport.Outcome<RingAllReduce>> rings = outcomes(2, r -> () -> RingAllReduce.connect(r, addresses,
                    servers.get(r), Duration.ofSeconds(20), RingAllReduce.DEFAULT_IO_TIMEOUT, RingTestSupport.AUTH,
                    WireFormat.FP32, r == 0 ? 2 : 1));
            for (RingTestSupport.Outcome<RingAllReduce> o : rings) {
                if (o.value() != null) {
                    o.value().close();
                }
            }
            assertIoFailure(rings.get(0), "rank 0 (2 streams)");
            assertIoFailure(rings.get(1), "rank 1 (1 stream)");
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(15).toNanos(), "refused at the handshake, not by the timeout");
        } finally {
            for (ServerSocketChannel s : servers) {
                s.close();
            }
        }
    }

    @Test
    void aPeerThatDiesMidCallFailsTheOthersInsteadOfHangingAnyStream() throws Exception {
        List<RingAllReduce> ring = ring(3, Duration.ofSeconds(20), RingTestSupport.AUTH, WireFormat.FP32, 3);
        try {
            List<RingTestSupport.Outcome<float[]>> out = outcomes(3, r -> () -> {
                if (r == 2) {
                    ring.get(r).close(); // every stream of both its links goes at once
                    return null;
                }
                float[] a = input(r, 2_000_000);
                ring.get(r).allReduceMean(a);
                return a;
            });
            long start = System.nanoTime();
            assertIoFailure(out.get(0), "rank 0");
            assertIoFailure(out.get(1), "rank 1");
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(15).toNanos());
        } finally {
            closeAll(ring);
        }
    }
}
