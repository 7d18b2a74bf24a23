package ai.emaspark.jobs;

import ai.emaspark.auth.RunSecret;
import ai.emaspark.comm.FloatSlab;
import ai.emaspark.comm.RingAllReduce;
import ai.emaspark.comm.RingAuth;
import ai.emaspark.comm.WireFormat;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One rank of jobs/bin/bench-allreduce, in a process of its own: our ring all-reduce (mean) of each
 * size, or the raw TCP traffic of a ring (every rank streams the bytes an all-reduce moves over a link
 * to the next rank while it receives as many from the previous one, no sums, no framing). Rank 0
 * prints one JSON line per size: the median of {@code --repeat} timed calls after {@code --warmup}.
 *
 * <p>{@code AllReduceBench --rank R --hosts h0,h1,.. [--port 29600] [--sizes 1000000,..] [--repeat 5]
 * [--warmup 2] [--transport ring|raw] [--blocks plain|mac|encrypt] [--wire fp32|bf16] [--streams 1]}: rank r listens
 * on hosts[r]:port+r; three untimed calls of the largest size come first, and a barrier call before each
 * timed one keeps the ranks in step.
 */
public final class AllReduceBench {
    private static final Duration CONNECT_TIMEOUT = Duration.ofMinutes(2);
    /** Untimed calls of the largest size before the first timed one, for every peer alike. */
    static final int WARMUP_LARGEST = 3;

    private AllReduceBench() {
    }

    record Options(int rank, List<String> hosts, int port, int[] sizes, int repeat, int warmup, String transport, String blocks,
            String wire, int streams) {
        static Options parse(String[] args) {
            int rank = -1;
            List<String> hosts = List.of();
            int port = 29600;
            int[] sizes = {1_000_000, 5_000_000, 25_000_000, 50_000_000};
            int repeat = 5;
            int warmup = 2;
            String transport = "ring";
            String blocks = "plain";
            String wire = "fp32";
            int streams = 1;
            for (int i = 0; i < args.length; i += 2) {
                String value = args[i + 1];
                switch (args[i]) {
                    case "--rank" -> rank = Integer.parseInt(value);
                    case "--hosts" -> hosts = List.of(value.split(","));
                    case "--port" -> port = Integer.parseInt(value);
                    case "--sizes" -> sizes = Arrays.stream(value.split(",")).mapToInt(Integer::parseInt).toArray();
                    case "--repeat" -> repeat = Integer.parseInt(value);
                    case "--warmup" -> warmup = Integer.parseInt(value);
                    case "--transport" -> transport = value;
                    case "--blocks" -> blocks = value;
                    case "--wire" -> wire = value;
                    case "--streams" -> streams = Integer.parseInt(value);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (rank < 0 || rank >= hosts.size()) {
                throw new IllegalArgumentException("--rank must be in [0, " + hosts.size() + ") of --hosts");
            }
            return new Options(rank, hosts, port, sizes, repeat, warmup, transport, blocks, wire, streams);
        }

        int world() {
            return hosts.size();
        }

        List<String> addresses() {
            List<String> addresses = new ArrayList<>();
            for (int r = 0; r < hosts.size(); r++) {
                addresses.add(hosts.get(r) + ":" + (port + r));
            }
            return addresses;
        }

        String peer() {
            return transport.equals("raw") ? "raw-tcp" : "emaspark-" + blocks + (wire.equals("fp32") ? "" : "-" + wire)
                    + (streams == 1 ? "" : "-x" + streams);
        }
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        if (o.transport().equals("raw")) {
            raw(o);
        } else {
            ring(o);
        }
    }

    private static void ring(Options o) throws IOException {
        RunSecret secret = RunSecret.derive("bench-allreduce".getBytes(StandardCharsets.UTF_8), "bench");
        RingAuth auth = new RingAuth(secret, "bench", o.blocks().equals("mac"), o.blocks().equals("encrypt"));
        ServerSocketChannel server = RingAllReduce.listen(o.hosts().get(o.rank()), o.port() + o.rank());
        try (RingAllReduce ring = RingAllReduce.connect(o.rank(), o.addresses(), server, CONNECT_TIMEOUT, Duration.ofMinutes(5),
                auth, WireFormat.parse(o.wire()), o.streams())) {
            FloatSlab step = FloatSlab.allocate(1);
            FloatSlab largest = random(Arrays.stream(o.sizes()).max().orElse(1), o.rank());
            for (int k = 0; k < WARMUP_LARGEST; k++) {
                ring.allReduceMean(largest); // the JIT compiles the hot loops (AES-GCM's among them) before any timing
            }
            for (int size : o.sizes()) {
                FloatSlab buffer = random(size, o.rank()); // direct memory, as the training job's exchange
                double[] seconds = new double[o.repeat()];
                for (int k = 0; k < o.warmup() + o.repeat(); k++) {
                    ring.allReduceMean(step); // a barrier: every rank starts the timed call together
                    long start = System.nanoTime();
                    ring.allReduceMean(buffer);
                    if (k >= o.warmup()) {
                        seconds[k - o.warmup()] = (System.nanoTime() - start) / 1e9;
                    }
                }
                report(o, size, seconds);
            }
        }
    }

    /** Each rank streams what an all-reduce moves over a link, 2(n-1)/n of the buffer, while it receives as much. */
    private static void raw(Options o) throws Exception {
        int world = o.world();
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            server.bind(new InetSocketAddress(o.hosts().get(o.rank()), o.port() + o.rank()));
            SocketChannel next = dial(o.hosts().get((o.rank() + 1) % world), o.port() + (o.rank() + 1) % world);
            SocketChannel previous = server.accept();
            ExecutorService sender = Executors.newSingleThreadExecutor();
            ByteBuffer out = ByteBuffer.allocateDirect(1 << 20);
            ByteBuffer in = ByteBuffer.allocateDirect(1 << 20);
            try {
                long largest = 2L * (world - 1) * 4L * Arrays.stream(o.sizes()).max().orElse(1) / world;
                for (int k = 0; k < WARMUP_LARGEST; k++) {
                    exchange(next, previous, sender, out, in, largest);
                }
                for (int size : o.sizes()) {
                    long bytes = 2L * (world - 1) * 4L * size / world;
                    double[] seconds = new double[o.repeat()];
                    for (int k = 0; k < o.warmup() + o.repeat(); k++) {
                        exchange(next, previous, sender, out, in, 4); // a barrier
                        long start = System.nanoTime();
                        exchange(next, previous, sender, out, in, bytes);
                        if (k >= o.warmup()) {
                            seconds[k - o.warmup()] = (System.nanoTime() - start) / 1e9;
                        }
                    }
                    report(o, size, seconds);
                }
            } finally {
                sender.shutdownNow();
                next.close();
                previous.close();
            }
        }
    }

    private static SocketChannel dial(String host, int port) throws Exception {
        long deadline = System.nanoTime() + CONNECT_TIMEOUT.toNanos();
        while (true) {
            try {
                SocketChannel channel = SocketChannel.open();
                channel.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                channel.connect(new InetSocketAddress(host, port));
                return channel;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    private static void exchange(SocketChannel next, SocketChannel previous, ExecutorService sender, ByteBuffer out,
            ByteBuffer in, long bytes) throws Exception {
        Future<?> sent = sender.submit(() -> {
            for (long left = bytes; left > 0; ) {
                out.clear().limit((int) Math.min(out.capacity(), left));
                left -= out.remaining();
                while (out.hasRemaining()) {
                    next.write(out);
                }
            }
            return null;
        });
        for (long left = bytes; left > 0; ) {
            in.clear().limit((int) Math.min(in.capacity(), left));
            int r = previous.read(in);
            if (r < 0) {
                throw new IOException("the previous rank closed the connection");
            }
            left -= r;
        }
        sent.get();
    }

    private static void report(Options o, int size, double[] seconds) {
        if (o.rank() != 0) {
            return;
        }
        double[] sorted = seconds.clone();
        Arrays.sort(sorted);
        double median = sorted[sorted.length / 2];
        StringBuilder runs = new StringBuilder();
        for (double s : seconds) {
            runs.append(runs.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.4f", s));
        }
        System.out.printf(Locale.ROOT, "{\"peer\": \"%s\", \"world\": %d, \"floats\": %d, \"median_s\": %.5f, \"runs\": [%s]}%n",
                o.peer(), o.world(), size, median, runs);
        System.out.flush();
    }

    private static FloatSlab random(int size, int rank) {
        SplittableRandom random = new SplittableRandom(rank);
        FloatSlab a = FloatSlab.allocate(size);
        for (int i = 0; i < size; i++) {
            a.put(i, (float) random.nextGaussian());
        }
        return a;
    }
}
