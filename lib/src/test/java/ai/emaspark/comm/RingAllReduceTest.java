package ai.emaspark.comm;

import static ai.emaspark.comm.RingTestSupport.assertIoFailure;
import static ai.emaspark.comm.RingTestSupport.closeAll;
import static ai.emaspark.comm.RingTestSupport.onAllRanks;
import static ai.emaspark.comm.RingTestSupport.outcomes;
import static ai.emaspark.comm.RingTestSupport.ring;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.emaspark.comm.RingTestSupport.Outcome;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RingAllReduceTest {
    private static final int[] LENGTHS = {0, 1, 3, 1000, 1001, 12345};

    private static float[] randomInput(long seed, int rank, int length) {
        Random random = new Random(seed * 1_000_003L + rank);
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
            a[i] = random.nextFloat() * 2 - 1;
        }
        return a;
    }

    /** Element-wise sum (or mean) over ranks, in double. */
    private static double[] expected(List<float[]> inputs, boolean mean) {
        double[] e = new double[inputs.get(0).length];
        for (float[] in : inputs) {
            for (int i = 0; i < e.length; i++) {
                e[i] += in[i];
            }
        }
        if (mean) {
            for (int i = 0; i < e.length; i++) {
                e[i] /= inputs.size();
            }
        }
        return e;
    }

    private static void assertClose(double[] expected, float[] actual, int offset) {
        for (int i = 0; i < expected.length; i++) {
            double tol = 1e-6 * Math.max(1, Math.abs(expected[i]));
            if (Math.abs(expected[i] - actual[offset + i]) > tol) {
                fail("element " + i + ": expected " + expected[i] + ", got " + actual[offset + i]);
            }
        }
    }

    private static void assertBitwiseIdentical(List<float[]> results) {
        for (int r = 1; r < results.size(); r++) {
            assertTrue(Arrays.equals(results.get(0), results.get(r)), "rank " + r + " differs from rank 0");
        }
    }

    @ParameterizedTest(name = "world {0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void meanAndSumMatchDoubleAndAreBitwiseIdentical(int world) throws Exception {
        List<RingAllReduce> ring = ring(world);
        try {
            for (RingAllReduce r : ring) {
                assertEquals(world, r.worldSize());
            }
            for (int length : LENGTHS) {
                for (boolean mean : new boolean[] {true, false}) {
                    long seed = 31L * length + (mean ? 1 : 0);
                    List<float[]> inputs = onAllRanks(world, r -> () -> randomInput(seed, r, length));
                    List<float[]> results = onAllRanks(world, r -> () -> {
                        float[] a = inputs.get(r).clone();
                        assertEquals(r, ring.get(r).rank());
                        if (mean) {
                            ring.get(r).allReduceMean(a);
                        } else {
                            ring.get(r).allReduceSum(a);
                        }
                        return a;
                    });
                    double[] want = expected(inputs, mean);
                    for (float[] res : results) {
                        assertClose(want, res, 0);
                    }
                    assertBitwiseIdentical(results);
                }
            }
        } finally {
            closeAll(ring);
        }
    }

    @Test
    void sliceLeavesTheRestUntouched() throws Exception {
        int world = 3;
        List<RingAllReduce> ring = ring(world);
        try {
            List<float[]> inputs = onAllRanks(world, r -> () -> randomInput(7, r, 100));
            List<float[]> results = onAllRanks(world, r -> () -> {
                float[] a = inputs.get(r).clone();
                ring.get(r).allReduceMean(a, 10, 77);
                return a;
            });
            double[] want = expected(inputs.stream().map(a -> Arrays.copyOfRange(a, 10, 87)).toList(), true);
            for (int r = 0; r < world; r++) {
                float[] res = results.get(r);
                assertClose(want, res, 10);
                assertArrayEquals(Arrays.copyOfRange(inputs.get(r), 0, 10), Arrays.copyOfRange(res, 0, 10));
                assertArrayEquals(Arrays.copyOfRange(inputs.get(r), 87, 100), Arrays.copyOfRange(res, 87, 100));
            }
            for (float[] res : results) {
                assertArrayEquals(Arrays.copyOfRange(results.get(0), 10, 87), Arrays.copyOfRange(res, 10, 87));
            }
        } finally {
            closeAll(ring);
        }
    }

    @Test
    void repeatedCallsOnTheSameInstance() throws Exception {
        int world = 3;
        List<RingAllReduce> ring = ring(world);
        try {
            for (int it = 0; it < 20; it++) {
                int length = (it * 7919) % 5000 + (it % 3 == 0 ? 0 : it); // varied, includes small sizes
                boolean mean = it % 2 == 0;
                long seed = it;
                List<float[]> inputs = onAllRanks(world, r -> () -> randomInput(seed, r, length));
                List<float[]> results = onAllRanks(world, r -> () -> {
                    float[] a = inputs.get(r).clone();
                    if (mean) {
                        ring.get(r).allReduceMean(a);
                    } else {
                        ring.get(r).allReduceSum(a);
                    }
                    return a;
                });
                double[] want = expected(inputs, mean);
                for (float[] res : results) {
                    assertClose(want, res, 0);
                }
                assertBitwiseIdentical(results);
            }
        } finally {
            closeAll(ring);
        }
    }

    @ParameterizedTest(name = "world {0}, blocks {1}")
    @CsvSource({"2, aes-gcm", "4, aes-gcm", "2, plain"})
    void fiftyMillionFloats(int world, String blocks) throws Exception {
        int n = 50_000_000;
        RingAuth auth = new RingAuth(RingTestSupport.SECRET, RingTestSupport.CONTEXT, blocks.equals("aes-gcm"), false);
        List<RingAllReduce> ring = ring(world, RingAllReduce.DEFAULT_IO_TIMEOUT, auth);
        try {
            // Rank r holds (i & 1023) + r; every sum is a small integer, so the mean is exact in float.
            List<float[]> buffers = onAllRanks(world, r -> () -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) {
                    a[i] = (i & 1023) + r;
                }
                return a;
            });
            // Two calls: the first includes JIT warm-up and buffer allocation. The mean of identical
            // arrays is the array itself, so the second call keeps the expected values.
            for (String label : new String[] {"cold", "warm"}) {
                CountDownLatch start = new CountDownLatch(world);
                List<Long> nanos = onAllRanks(world, r -> () -> {
                    start.countDown();
                    start.await();
                    long t0 = System.nanoTime();
                    ring.get(r).allReduceMean(buffers.get(r));
                    return System.nanoTime() - t0;
                });
                double seconds = nanos.stream().mapToLong(Long::longValue).max().orElseThrow() / 1e9;
                double busBandwidth = 2.0 * (world - 1) / world * 4.0 * n / seconds;
                System.out.printf("ring all-reduce mean of %,d floats, world %d, blocks %s, %s: %.3f s, bus bandwidth %.2f GB/s%n",
                        n, world, auth.blocks(), label, seconds, busBandwidth / 1e9);
            }

            float shift = (world - 1) / 2f;
            onAllRanks(world, r -> () -> {
                float[] a = buffers.get(r);
                for (int i = 0; i < n; i++) {
                    if (a[i] != (i & 1023) + shift) {
                        fail("rank " + r + " element " + i + ": expected " + ((i & 1023) + shift) + ", got " + a[i]);
                    }
                }
                return null;
            });
        } finally {
            closeAll(ring);
        }
    }

    @ParameterizedTest(name = "world {0}")
    @ValueSource(ints = {2, 3})
    void mismatchedLengthsFailOnEveryRank(int world) throws Exception {
        List<RingAllReduce> ring = ring(world);
        try {
            List<Outcome<Object>> out = assertTimeoutPreemptively(Duration.ofSeconds(20), () ->
                    outcomes(world, r -> () -> {
                        ring.get(r).allReduceMean(new float[r == 0 ? 10 : 20]);
                        return null;
                    }));
            for (int r = 0; r < world; r++) {
                assertIoFailure(out.get(r), "rank " + r);
            }
            // Rank 0 compares against its predecessor, which sent 20: the message names both sizes.
            String message = out.get(0).error().getMessage();
            assertTrue(message.contains("10 floats") && message.contains("20 floats"), message);
            // The ring is unusable afterwards and says so.
            IOException again = assertThrows(IOException.class, () -> ring.get(0).allReduceMean(new float[10]));
            assertTrue(again.getMessage().contains("closed"), again.getMessage());
        } finally {
            closeAll(ring);
        }
    }

    @Test
    void peerClosingMidCallFailsTheOthersPromptly() throws Exception {
        int world = 3;
        List<RingAllReduce> ring = ring(world, Duration.ofSeconds(30)); // far above the bound asserted below
        try {
            long t0 = System.nanoTime();
            List<Outcome<Object>> out = assertTimeoutPreemptively(Duration.ofSeconds(20), () ->
                    outcomes(world, r -> () -> {
                        if (r == 2) {
                            Thread.sleep(300); // the others are now blocked inside their calls
                            ring.get(r).close();
                            return null;
                        }
                        ring.get(r).allReduceMean(new float[1_000_000]);
                        return null;
                    }));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertIoFailure(out.get(0), "rank 0");
            assertIoFailure(out.get(1), "rank 1");
            assertTrue(seconds < 10, "took " + seconds + " s: failure detection relied on the timeout");
        } finally {
            closeAll(ring);
        }
    }

    @Test
    void peerClosedWhileInsideItsOwnCallFailsEveryone() throws Exception {
        int world = 3;
        int n = 50_000_000; // long enough (~0.5 s or more) that the close lands mid-transfer
        List<RingAllReduce> ring = ring(world, Duration.ofSeconds(30));
        try {
            CountDownLatch started = new CountDownLatch(world);
            Thread killer = new Thread(() -> {
                try {
                    started.await();
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                ring.get(2).close();
            });
            killer.start();
            long t0 = System.nanoTime();
            List<Outcome<Object>> out = assertTimeoutPreemptively(Duration.ofSeconds(20), () ->
                    outcomes(world, r -> () -> {
                        float[] a = new float[n];
                        started.countDown();
                        ring.get(r).allReduceSum(a);
                        return null;
                    }));
            killer.join();
            double seconds = (System.nanoTime() - t0) / 1e9;
            for (int r = 0; r < world; r++) {
                assertIoFailure(out.get(r), "rank " + r);
            }
            assertTrue(seconds < 10, "took " + seconds + " s: failure detection relied on the timeout");
        } finally {
            closeAll(ring);
        }
    }

    @Test
    void lateListenerIsReachedByRetrying() throws Exception {
        ServerSocketChannel early = RingAllReduce.listen("127.0.0.1");
        ServerSocketChannel probe = RingAllReduce.listen("127.0.0.1");
        int latePort = probe.socket().getLocalPort();
        probe.close(); // rank 1 will listen on this port only later
        List<String> addresses = List.of("127.0.0.1:" + early.socket().getLocalPort(), "127.0.0.1:" + latePort);
        List<RingAllReduce> ring = assertTimeoutPreemptively(Duration.ofSeconds(15), () ->
                onAllRanks(2, r -> () -> {
                    if (r == 0) {
                        return RingTestSupport.connect(0, addresses, early, Duration.ofSeconds(10));
                    }
                    Thread.sleep(500);
                    ServerSocketChannel late = ServerSocketChannel.open();
                    late.bind(new java.net.InetSocketAddress("127.0.0.1", latePort));
                    return RingTestSupport.connect(1, addresses, late, Duration.ofSeconds(10));
                }));
        try {
            List<float[]> results = onAllRanks(2, r -> () -> {
                float[] a = {r, 2 * r};
                ring.get(r).allReduceSum(a);
                return a;
            });
            assertArrayEquals(new float[] {1, 2}, results.get(0));
            assertArrayEquals(new float[] {1, 2}, results.get(1));
        } finally {
            closeAll(ring);
        }
    }

    @Test
    void silentPeerTimesOut() throws Exception {
        List<RingAllReduce> ring = ring(2, Duration.ofMillis(300));
        try {
            IOException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
                    assertThrows(IOException.class, () -> ring.get(0).allReduceMean(new float[100])));
            assertInstanceOf(SocketTimeoutException.class, e);
            assertTrue(e.getMessage().contains("rank 1"), e.getMessage());
        } finally {
            closeAll(ring);
        }
    }

    @Test
    void closeFromAnotherThreadAbortsTheCall() throws Exception {
        List<RingAllReduce> ring = ring(2);
        try {
            Thread closer = new Thread(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException ignored) {
                    return;
                }
                ring.get(0).close();
            });
            closer.start();
            assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
                    assertThrows(IOException.class, () -> ring.get(0).allReduceMean(new float[100])));
            closer.join();
            ring.get(0).close(); // idempotent
        } finally {
            closeAll(ring);
        }
    }

    @Test
    void connectTimeoutNamesThePeer() throws Exception {
        ServerSocketChannel mine = RingAllReduce.listen("127.0.0.1");
        ServerSocketChannel gone = RingAllReduce.listen("127.0.0.1");
        String goneAddress = "127.0.0.1:" + gone.socket().getLocalPort();
        gone.close(); // nobody listens there any more
        try (mine) {
            List<String> addresses = List.of("127.0.0.1:" + mine.socket().getLocalPort(), goneAddress);
            IOException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(IOException.class,
                    () -> RingTestSupport.connect(0, addresses, mine, Duration.ofMillis(500))));
            assertTrue(e.getMessage().contains(goneAddress), e.getMessage());
        }
    }

    @Test
    void worldOfOneNeedsNoSocket() throws Exception {
        try (RingAllReduce solo = RingTestSupport.connect(0, List.of("nowhere:1"), null, Duration.ofSeconds(1))) {
            float[] a = {1.5f, -2f, 3f};
            solo.allReduceMean(a);
            solo.allReduceSum(a);
            assertArrayEquals(new float[] {1.5f, -2f, 3f}, a);
        }
    }

    @Test
    void chunksCoverTheRangeWithoutGaps() {
        for (int parts = 1; parts <= 5; parts++) {
            for (int length = 0; length <= 17; length++) {
                Chunks c = new Chunks(length, parts);
                int next = 0;
                for (int i = 0; i < parts; i++) {
                    assertEquals(next, c.start(i));
                    assertTrue(c.size(i) == length / parts || c.size(i) == length / parts + 1);
                    next += c.size(i);
                }
                assertEquals(length, next);
            }
        }
    }
}
