package ai.emaspark.comm;

import static ai.emaspark.comm.RingTestSupport.AUTH;
import static ai.emaspark.comm.RingTestSupport.closeAll;
import static ai.emaspark.comm.RingTestSupport.onAllRanks;
import static ai.emaspark.comm.RingTestSupport.outcomes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gradients in bfloat16 on the wire: round to nearest even, sums in fp32 in the ring's order, the very
 * same bits on every rank and in every run, an exact tail, and ranks of different formats refusing each
 * other.
 */
class RingBf16Test {
    /** The nearest bfloat16 worked out on exact decimals, ties to the even one: independent of {@link WireFormat#toBf16}. */
    private static float nearestBf16(float f) {
        if (Float.isNaN(f) || Float.isInfinite(f)) {
            return f;
        }
        int bits = Float.floatToRawIntBits(f);
        float down = Float.intBitsToFloat(bits & 0xffff0000);
        float up = Float.intBitsToFloat((bits & 0xffff0000) + 0x10000); // away from zero; may be infinity
        if (down == f) {
            return f;
        }
        BigDecimal x = new BigDecimal(f);
        BigDecimal toDown = x.subtract(new BigDecimal(down)).abs();
        if (Float.isInfinite(up)) {
            // Past the largest bfloat16 the next value is 2^128: infinity from halfway to it on (a tie goes to the even one, infinity).
            BigDecimal halfway = new BigDecimal(down).abs().add(new BigDecimal(2).pow(128)).divide(new BigDecimal(2));
            return x.abs().compareTo(halfway) >= 0 ? up : down;
        }
        int c = toDown.compareTo(x.subtract(new BigDecimal(up)).abs());
        if (c != 0) {
            return c < 0 ? down : up;
        }
        return ((Float.floatToRawIntBits(down) >>> 16) & 1) == 0 ? down : up;
    }

    private static float bf16(float f) {
        return WireFormat.fromBf16(WireFormat.toBf16(f));
    }

    @Test
    void roundsToTheNearestBf16TiesToEven() {
        assertEquals(1.0f, bf16(1.0f));
        assertEquals(1.0f, bf16(1.00390625f), "1 + 2^-8 is halfway: to the even 1.0");
        assertEquals(1.015625f, bf16(1.01171875f), "1 + 3*2^-8 is halfway: to the even 1 + 2^-6");
        assertEquals(Float.POSITIVE_INFINITY, bf16(Float.MAX_VALUE));
        assertEquals(-0.0f, bf16(-0.0f));
        assertTrue(Float.isNaN(bf16(Float.NaN)));
        assertTrue(Float.isNaN(bf16(Float.intBitsToFloat(0x7f800001))), "a signalling NaN with low payload stays NaN");
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(random.nextInt());
            if (Float.isNaN(f)) {
                continue;
            }
            assertEquals(Float.floatToRawIntBits(nearestBf16(f)), Float.floatToRawIntBits(bf16(f)), "bits of " + f);
        }
    }

    private static float[] input(int rank, int length) {
        SplittableRandom random = new SplittableRandom(31L * length + rank);
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
            a[i] = (float) (random.nextGaussian() * Math.exp(random.nextGaussian() * 3));
        }
        return a;
    }

    /** The mean as the ring makes it: chunk c summed from rank c on, each partial rounded as it crosses a link. */
    private static float[] expectedMean(List<float[]> inputs, int exactFrom, WireFormat wire) {
        int world = inputs.size();
        int length = inputs.get(0).length;
        Chunks chunks = new Chunks(length, world);
        float[] mean = new float[length];
        for (int i = 0; i < length; i++) {
            boolean rounded = wire == WireFormat.BF16 && i < exactFrom;
            int c = chunks.indexOf(i);
            float partial = inputs.get(c)[i];
            for (int k = 1; k < world; k++) {
                partial = inputs.get((c + k) % world)[i] + (rounded ? bf16(partial) : partial);
            }
            mean[i] = partial / world;
            mean[i] = rounded ? bf16(mean[i]) : mean[i];
        }
        return mean;
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void everyRankGetsTheRingsBitsInEveryRunWithAnExactTail(int world) throws Exception {
        List<RingAllReduce> ring = RingTestSupport.ring(world, RingAllReduce.DEFAULT_IO_TIMEOUT, AUTH, WireFormat.BF16);
        try {
            int length = 700_001; // more than one block per chunk, chunks of unequal sizes
            int tail = 3;
            List<float[]> inputs = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                inputs.add(input(r, length));
            }
            float[] expected = expectedMean(inputs, length - tail, WireFormat.BF16);
            for (int run = 0; run < 2; run++) {
                for (int buckets : new int[] {1, 3}) {
                    List<float[]> out = onAllRanks(world, r -> () -> {
                        FloatSlab a = RingTestSupport.slab(inputs.get(r));
                        ring.get(r).allReduceMean(a, tail, buckets, b -> { });
                        return RingTestSupport.array(a);
                    });
                    for (int r = 0; r < world; r++) {
                        for (int i = 0; i < length; i++) {
                            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(out.get(r)[i])) {
                                assertEquals(expected[i], out.get(r)[i], "run " + run + ", " + buckets + " buckets, rank " + r
                                        + ", element " + i);
                            }
                        }
                    }
                }
            }
            float[] fp32 = expectedMean(inputs, length, WireFormat.FP32);
            double worst = 0;
            for (int i = 0; i < length - tail; i++) {
                worst = Math.max(worst, Math.abs(expected[i] - fp32[i]) / mean(inputs, i));
            }
            // Each of the world-1 hops and the final value round once, by at most 2^-8 (bf16 keeps 8 significant bits).
            assertTrue(worst <= world * Math.pow(2, -8) * 1.01, "largest error relative to the mean of |x|: " + worst);
        } finally {
            closeAll(ring);
        }
    }

    private static double mean(List<float[]> inputs, int i) {
        double sum = 0;
        for (float[] a : inputs) {
            sum += Math.abs(a[i]);
        }
        return sum / inputs.size();
    }

    @Test
    void halvesTheBytesOnTheWire() {
        assertEquals(2 * 1000, WireFormat.BF16.bytes(0, 1000, 1000));
        assertEquals(2 * 997 + 4 * 3, WireFormat.BF16.bytes(0, 1000, 997));
        assertEquals(4 * 1000, WireFormat.FP32.bytes(0, 1000, 997));
        assertEquals(4 * 10, WireFormat.BF16.bytes(1000, 10, 997), "a block past the exact start travels as fp32");
    }

    @Test
    void ranksOfDifferentFormatsRefuseEachOther() throws Exception {
        List<ServerSocketChannel> servers = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            ServerSocketChannel s = RingAllReduce.listen("127.0.0.1");
            servers.add(s);
            addresses.add("127.0.0.1:" + s.socket().getLocalPort());
        }
        try {
            List<RingTestSupport.Outcome<RingAllReduce>> rings = outcomes(2, r -> () -> RingAllReduce.connect(r, addresses,
                    servers.get(r), Duration.ofSeconds(3), RingAllReduce.DEFAULT_IO_TIMEOUT, AUTH,
                    r == 0 ? WireFormat.FP32 : WireFormat.BF16));
            assertTrue(rings.stream().anyMatch(o -> o.error() != null), "an fp32 rank and a bf16 rank do not form a ring");
            rings.stream().filter(o -> o.value() != null).forEach(o -> o.value().close());
            assertNotNull(rings.get(0).error() != null ? rings.get(0).error() : rings.get(1).error());
        } finally {
            for (ServerSocketChannel s : servers) {
                s.close();
            }
        }
    }
}
