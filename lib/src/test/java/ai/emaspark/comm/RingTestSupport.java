package ai.emaspark.comm;

import ai.emaspark.auth.RunSecret;
import java.io.IOException;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/** Builds rings of ranks inside one JVM over loopback, one thread per rank. */
final class RingTestSupport {
    /** The run's secret of these test rings. */
    static final RunSecret SECRET = RunSecret.generate();
    static final String CONTEXT = "epoch 0 attempt 0";
    /** Block MACs on: the tests cover the costlier wire format. */
    static final RingAuth AUTH = new RingAuth(SECRET, CONTEXT, true, false);

    private RingTestSupport() {
    }

    /** {@link RingAllReduce#connect} with this test run's secret and the default I/O timeout. */
    static RingAllReduce connect(int rank, List<String> addresses, ServerSocketChannel server, Duration timeout)
            throws IOException {
        return RingAllReduce.connect(rank, addresses, server, timeout, RingAllReduce.DEFAULT_IO_TIMEOUT, AUTH);
    }

    static List<RingAllReduce> ring(int world, Duration ioTimeout) throws Exception {
        return ring(world, ioTimeout, AUTH);
    }

    /** Opens one listener per rank, then connects every rank concurrently, like the real rendezvous. */
    static List<RingAllReduce> ring(int world, Duration ioTimeout, RingAuth auth) throws Exception {
        return ring(world, ioTimeout, auth, WireFormat.FP32);
    }

    /** {@link #ring(int, Duration, RingAuth)} with the floats on the wire in {@code wire}. */
    static List<RingAllReduce> ring(int world, Duration ioTimeout, RingAuth auth, WireFormat wire) throws Exception {
        return ring(world, ioTimeout, auth, wire, 1);
    }

    /** {@link #ring(int, Duration, RingAuth, WireFormat)} with {@code streams} connections per link. */
    static List<RingAllReduce> ring(int world, Duration ioTimeout, RingAuth auth, WireFormat wire, int streams) throws Exception {
        List<ServerSocketChannel> servers = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            ServerSocketChannel s = RingAllReduce.listen("127.0.0.1");
            servers.add(s);
            addresses.add("127.0.0.1:" + s.socket().getLocalPort());
        }
        try {
            return onAllRanks(world, r -> () ->
                    RingAllReduce.connect(r, addresses, servers.get(r), Duration.ofSeconds(10), ioTimeout, auth, wire, streams));
        } finally {
            for (ServerSocketChannel s : servers) {
                s.close(); // no-op for those that connect() already closed
            }
        }
    }

    /** A slab holding {@code values}. */
    static FloatSlab slab(float[] values) {
        FloatSlab slab = FloatSlab.allocate(values.length);
        slab.put(0, values, 0, values.length);
        return slab;
    }

    /** A copy of a slab's values. */
    static float[] array(FloatSlab slab) {
        float[] values = new float[slab.length()];
        slab.get(0, values, 0, values.length);
        return values;
    }

    static List<RingAllReduce> ring(int world) throws Exception {
        return ring(world, RingAllReduce.DEFAULT_IO_TIMEOUT);
    }

    /** Runs one task per rank concurrently and returns their results in rank order; rethrows the first failure. */
    static <T> List<T> onAllRanks(int world, IntFunction<Callable<T>> task) throws Exception {
        List<Outcome<T>> outcomes = outcomes(world, task);
        List<T> values = new ArrayList<>();
        for (Outcome<T> o : outcomes) {
            if (o.error() != null) {
                throw new AssertionError("a rank failed", o.error());
            }
            values.add(o.value());
        }
        return values;
    }

    record Outcome<T>(T value, Throwable error) {
    }

    /** Runs one task per rank concurrently and returns each rank's value or failure. */
    static <T> List<Outcome<T>> outcomes(int world, IntFunction<Callable<T>> task) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                futures.add(pool.submit(task.apply(r)));
            }
            List<Outcome<T>> out = new ArrayList<>();
            for (Future<T> f : futures) {
                try {
                    out.add(new Outcome<>(f.get(), null));
                } catch (ExecutionException e) {
                    out.add(new Outcome<>(null, e.getCause()));
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    static void closeAll(List<RingAllReduce> ring) {
        for (RingAllReduce r : ring) {
            r.close();
        }
    }

    static void assertIoFailure(Outcome<?> o, String what) {
        if (!(o.error() instanceof IOException)) {
            throw new AssertionError(what + ": expected an IOException, got "
                    + (o.error() == null ? "success" : o.error()), o.error());
        }
    }
}
