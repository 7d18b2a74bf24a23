package ai.emaspark.comm;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.AsynchronousCloseException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A rank's links to its two neighbours in the ring, as a pass uses them: at every step a slice goes to
 * the next rank while one comes from the previous, each step forwarding the blocks the one before it
 * received as they become final ({@link #pass}). Each link is {@code streams} TCP connections;
 * a slice is split into that many contiguous parts, each on its own connection and thread, where one
 * stream cannot fill the link (window- or CPU-bound per connection). Elements never change hands
 * between ranks in another order, so the bits do not depend on the number of streams.
 *
 * <p>Every send runs on a sender thread of its stream; the calling thread receives stream 0's part and
 * receiver threads the others, so neither direction blocks the other when socket buffers fill. A failure
 * on any of them is reported to {@code onFailure} at once, which closes the ring and wakes the others.
 */
final class RingLinks implements AutoCloseable {
    /** The fewest floats of a slice worth a stream of their own: a quarter of a 1 MB block. */
    static final int MIN_PART_FLOATS = RingWire.BLOCK_FLOATS / 4;
    private final List<RingSender> next;
    private final List<RingReceiver> previous;
    private final List<ExecutorService> senders; // one thread per stream
    private final ExecutorService receivers; // streams 1.. (stream 0 is the caller's); null with one stream
    private final Consumer<IOException> onFailure;
    private volatile List<Progress> current = List.of(); // the pass in flight, woken when the ring closes
    private volatile boolean closed;

    private RingLinks(List<RingSender> next, List<RingReceiver> previous, int rank, Consumer<IOException> onFailure) {
        this.next = next;
        this.previous = previous;
        this.onFailure = onFailure;
        this.senders = new ArrayList<>();
        for (int i = 0; i < next.size(); i++) {
            senders.add(singleThread("ring-allreduce-sender-rank" + rank + (next.size() > 1 ? "-stream" + i : "")));
        }
        int extra = previous.size() - 1;
        this.receivers = extra == 0 ? null : new ThreadPoolExecutor(extra, extra, 0, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(), daemons("ring-allreduce-receiver-rank" + rank));
    }

    /**
     * Takes over every connection of {@code links}; on failure closes them all. {@code nextPeer} and
     * {@code previousPeer} name the neighbours in messages ("rank k at host:port").
     */
    static RingLinks open(RingConnector.Links links, RingAuth auth, WireFormat wire, String nextPeer, String previousPeer,
            long ioTimeoutNanos, int rank, Consumer<IOException> onFailure) throws IOException {
        int streams = links.out().size();
        List<RingSender> next = new ArrayList<>();
        List<RingReceiver> previous = new ArrayList<>();
        try {
            for (int i = 0; i < streams; i++) {
                String stream = streams > 1 ? " (stream " + i + ")" : "";
                next.add(new RingSender(links.out().get(i), links.toNext().get(i), auth, wire, nextPeer + stream, ioTimeoutNanos));
                previous.add(new RingReceiver(links.in().get(i), links.fromPrevious().get(i), auth, wire, previousPeer + stream,
                        ioTimeoutNanos));
            }
            return new RingLinks(next, previous, rank, onFailure);
        } catch (IOException | RuntimeException e) {
            next.forEach(RingConnector::closeQuietly);
            previous.forEach(RingConnector::closeQuietly);
            links.closeQuietly();
            throw e;
        }
    }

    int streams() {
        return next.size();
    }

    /** The previous rank, for messages. */
    String previousPeer() {
        return previous.get(0).peer();
    }

    /** Starts sending a call's header to the next rank (on stream 0); {@link #await} it. */
    Future<?> sendHeader(RingWire.CallHeader call) throws IOException {
        return submit(senders.get(0), () -> next.get(0).sendHeader(call));
    }

    /** The previous rank's header of its call (on stream 0); blocks until it makes the call. */
    RingWire.CallHeader receiveHeader() throws IOException {
        return previous.get(0).receiveHeader();
    }

    /**
     * One step of a pass: the slice {@code a[sendOff, sendOff+sendLen)} goes to the next rank while
     * {@code recvLen} floats from the previous come into {@code a[recvOff, ...)}, added or written over
     * ({@link RingReceiver#receiveFloats}), each block finished by {@code finish} (null: as is).
     */
    record Step(int sendOff, int sendLen, int recvOff, int recvLen, boolean add, RingReceiver.Finish finish) {}

    /**
     * Runs a pass's steps in order, pipelined: every step after the first sends what the step before it
     * received (the ring's rule, checked), block by block as each block becomes final, so no step waits
     * for the whole of the previous one. A block is forwarded only once it is final and overwritten only
     * with what the peer sent after taking this rank's earlier value of it, so the bits are those of
     * running the steps one after another.
     */
    void pass(FloatSlab a, List<Step> steps, int exact, int floats) throws IOException {
        for (int t = 1; t < steps.size(); t++) {
            Step before = steps.get(t - 1);
            Step step = steps.get(t);
            if (step.sendOff() != before.recvOff() || step.sendLen() != before.recvLen()) {
                throw new IllegalArgumentException("step " + t + " does not forward what step " + (t - 1) + " received");
            }
        }
        int streams = streamsFor(floats, steps.size() / 2 + 1); // a pass has 2(N-1) steps
        List<Progress> progress = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            progress.add(new Progress());
        }
        current = progress;
        if (closed) {
            progress.forEach(Progress::abort); // close() may have missed them
        }
        List<Future<?>> pending = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            int stream = i;
            pending.add(submit(senders.get(i), () -> send(a, steps, exact, stream, streams, progress.get(stream))));
        }
        for (int i = 1; i < streams; i++) {
            int stream = i;
            pending.add(submit(receivers, () -> receive(a, steps, exact, stream, streams, progress.get(stream))));
        }
        receive(a, steps, exact, 0, streams, progress.get(0));
        for (Future<?> f : pending) {
            await(f);
        }
    }

    /**
     * The streams a pass of {@code floats} over {@code world} ranks uses: a slice's part on a stream is at
     * least {@link #MIN_PART_FLOATS} (a small call costs thread hand-offs, not bytes), so small calls take
     * fewer streams, the loss and errors of a step one. Every rank computes it from the same numbers.
     */
    private int streamsFor(int floats, int world) {
        return Math.max(1, Math.min(streams(), floats / world / MIN_PART_FLOATS));
    }

    /** Stream {@code i}'s part of every step's slice, sent as it becomes final here (the first step's is local). */
    private void send(FloatSlab a, List<Step> steps, int exact, int i, int streams, Progress progress) throws IOException {
        RingSender link = next.get(i);
        for (int t = 0; t < steps.size(); t++) {
            Step step = steps.get(t);
            Chunks parts = new Chunks(step.sendLen(), streams);
            int forwarded = t - 1;
            RingSender.Ready ready = t == 0 ? upTo -> { } : upTo -> progress.await(forwarded, upTo);
            link.sendFloats(a, step.sendOff() + parts.start(i), parts.size(i), exact, ready);
        }
    }

    /** Stream {@code i}'s part of every step's slice, received in order, its progress published block by block. */
    private void receive(FloatSlab a, List<Step> steps, int exact, int i, int streams, Progress progress) throws IOException {
        RingReceiver link = previous.get(i);
        for (int t = 0; t < steps.size(); t++) {
            Step step = steps.get(t);
            Chunks parts = new Chunks(step.recvLen(), streams);
            int now = t;
            progress.reached(now, 0);
            link.receiveFloats(a, step.recvOff() + parts.start(i), parts.size(i), step.add(), exact, step.finish(),
                    done -> progress.reached(now, done));
        }
    }

    /** Closes every connection and stops the threads; a step in progress fails. */
    @Override
    public void close() {
        closed = true;
        current.forEach(Progress::abort);
        previous.forEach(RingReceiver::close);
        next.forEach(RingSender::close);
        List<ExecutorService> pools = new ArrayList<>(senders);
        if (receivers != null) {
            pools.add(receivers);
        }
        for (ExecutorService pool : pools) {
            for (Runnable queued : pool.shutdownNow()) {
                if (queued instanceof Future<?> f) {
                    f.cancel(false); // a caller may be waiting on it
                }
            }
        }
    }

    /** Waits for a send or receive of this ring's threads; its failure comes back as an IOException. */
    static void await(Future<?> f) throws IOException {
        try {
            f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof IOException io ? io : new IOException("ring thread failed", c);
        } catch (CancellationException e) {
            throw new AsynchronousCloseException();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while exchanging");
        }
    }

    private Future<?> submit(ExecutorService pool, IoTask task) throws IOException {
        try {
            return pool.submit(() -> {
                try {
                    task.run();
                } catch (IOException | RuntimeException e) {
                    // Wake the calling thread and the other streams instead of letting them wait for data that will not come.
                    onFailure.accept(e instanceof IOException io ? io : new IOException("ring thread failed: " + e, e));
                    throw e;
                }
                return null;
            });
        } catch (RejectedExecutionException e) {
            throw new AsynchronousCloseException();
        }
    }

    private static ExecutorService singleThread(String name) {
        return new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), daemons(name));
    }

    private static java.util.concurrent.ThreadFactory daemons(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    @FunctionalInterface
    interface IoTask {
        void run() throws IOException;
    }
}
