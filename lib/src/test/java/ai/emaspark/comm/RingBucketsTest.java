package ai.emaspark.comm;

import static ai.emaspark.comm.RingTestSupport.closeAll;
import static ai.emaspark.comm.RingTestSupport.onAllRanks;
import static ai.emaspark.comm.RingTestSupport.outcomes;
import static ai.emaspark.comm.RingTestSupport.array;
import static ai.emaspark.comm.RingTestSupport.ring;
import static ai.emaspark.comm.RingTestSupport.slab;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The exchange in buckets: the bits of one pass, each bucket handed over final and in order, a caller's failure contained. */
class RingBucketsTest {
    private static float[] input(int rank, int length) {
        Random random = new Random(17L * length + rank);
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
            a[i] = random.nextFloat() * 2 - 1;
        }
        return a;
    }

    /** Every rank's input averaged in one unbucketed call: what every bucketed call must give. */
    private static List<float[]> onePass(List<RingAllReduce> ring, int length) throws Exception {
        return onAllRanks(ring.size(), r -> () -> {
            float[] a = input(r, length);
            ring.get(r).allReduceMean(a);
            return a;
        });
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void bucketsGiveTheBitsOfOnePassAndHandOverEachBucketFinal(int world) throws Exception {
        List<RingAllReduce> ring = ring(world);
        try {
            for (int length : new int[] {1, 5, 1001, 100_003}) {
                List<float[]> onePass = onePass(ring, length);
                for (int count : new int[] {1, 2, 3, 7}) {
                    Buckets buckets = new Buckets(length, world, count);
                    List<List<float[]>> seen = onAllRanks(world, r -> () -> {
                        FloatSlab a = slab(input(r, length));
                        List<float[]> handedOver = new ArrayList<>();
                        ring.get(r).allReduceMean(a, 0, count, b -> {
                            assertEquals(handedOver.size(), b, "in order");
                            handedOver.add(array(a));
                        });
                        handedOver.add(array(a));
                        return handedOver;
                    });
                    for (int r = 0; r < world; r++) {
                        float[] expected = onePass.get(r);
                        List<float[]> views = seen.get(r);
                        assertEquals(count + 1, views.size());
                        for (int i = 0; i < length; i++) {
                            int bits = Float.floatToRawIntBits(expected[i]);
                            assertEquals(bits, Float.floatToRawIntBits(views.get(count)[i]),
                                    "world " + world + ", " + count + " buckets, element " + i + ": the bits of one pass");
                            int bucket = buckets.lastBucketOf(i, 1);
                            assertEquals(bits, Float.floatToRawIntBits(views.get(bucket)[i]),
                                    "element " + i + " is final when bucket " + bucket + " is handed over");
                        }
                    }
                }
            }
        } finally {
            closeAll(ring);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void aCallerThatFailsOnABucketGetsItsExceptionAndTheRingStaysInStep(int world) throws Exception {
        List<RingAllReduce> ring = ring(world);
        try {
            List<RingTestSupport.Outcome<float[]>> first = outcomes(world, r -> () -> {
                FloatSlab a = slab(input(r, 10_000));
                ring.get(r).allReduceMean(a, 0, 4, b -> {
                    if (r == 0 && b == 1) {
                        throw new IllegalStateException("diverged");
                    }
                });
                return array(a);
            });
            assertEquals("diverged", first.get(0).error().getMessage());
            for (int r = 1; r < world; r++) {
                assertNull(first.get(r).error(), "the other ranks finish the call");
            }
            List<float[]> again = onAllRanks(world, r -> () -> {
                FloatSlab a = slab(input(r, 1000));
                ring.get(r).allReduceMean(a, 0, 3, b -> { });
                return array(a);
            });
            for (int r = 1; r < world; r++) {
                assertTrue(java.util.Arrays.equals(again.get(0), again.get(r)), "the next call is whole and identical");
            }
        } finally {
            closeAll(ring);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void bucketsFilledAsTheyGoTravelOnlyOnceFilled(int world) throws Exception {
        List<RingAllReduce> ring = ring(world);
        try {
            int length = 300_007;
            int count = 5;
            Buckets buckets = new Buckets(length, world, count);
            List<float[]> onePass = onePass(ring, length);
            List<float[]> filled = onAllRanks(world, r -> () -> {
                float[] real = input(r, length);
                FloatSlab a = FloatSlab.allocate(length); // zeros until each bucket is filled
                List<Integer> order = new ArrayList<>();
                ring.get(r).allReduceMean(a, 0, count, b -> {
                    order.add(b);
                    for (int c = 0; c < world; c++) {
                        a.put(buckets.start(c, b), real, buckets.start(c, b), buckets.size(c, b));
                    }
                }, b -> order.add(-1 - b));
                assertEquals(List.of(0, 1, 2, 3, 4, -1, -2, -3, -4, -5), order, "every fill, in order, then every bucket done");
                return array(a);
            });
            for (int r = 0; r < world; r++) {
                assertTrue(java.util.Arrays.equals(onePass.get(r), filled.get(r)), "rank " + r + ": the bits of one pass");
            }
        } finally {
            closeAll(ring);
        }
    }
}
