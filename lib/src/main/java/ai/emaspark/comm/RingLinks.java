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
 * A rank's links to its two neighbours in the ring, as one step of a pass uses them: a slice sent to
 * the next rank while one is received from the previous. Each link is {@code streams} TCP connections;
 * a slice is split into that many contiguous parts, each on its own connection and thread, where one
 * stream cannot fill the link (window- or CPU-bound per connection). Elements never change hands
 * between ranks in another order, so the bits do not depend on the number of streams.
 *
 * <p>Every send runs on a sender thread of its stream; the calling thread receives stream 0's part and
 * receiver threads the others, so neither direction blocks the other when socket buffers fill. A failure
 * on any of them is reported to {@code onFailure} at once, which closes the ring and wakes the others.
 */
final class RingLinks implements AutoCloseable {
    private final List<RingSender> next;
    private final List<RingReceiver> previous;
    private final List<ExecutorService> senders; // one thread per stream
    private final ExecutorService receivers; // streams 1.. (stream 0 is the caller's); null with one stream
    private final Consumer<IOException> onFailure;

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
     * One step of a pass: sends {@code a[sendOff, sendOff+sendLen)} to the next rank while receiving
     * {@code recvLen} floats from the previous into {@code a[recvOff, ...)}, added or written over
     * ({@link RingReceiver#receiveFloats}), each block finished by {@code finish} (null: as is).
     */
    void step(FloatSlab a, int sendOff, int sendLen, int recvOff, int recvLen, boolean add, int exact,
            RingReceiver.Finish finish) throws IOException {
        int streams = streams();
        Chunks sendParts = new Chunks(sendLen, streams);
        Chunks recvParts = new Chunks(recvLen, streams);
        List<Future<?>> pending = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            RingSender link = next.get(i);
            int off = sendOff + sendParts.start(i);
            int len = sendParts.size(i);
            if (len == 0 && i > 0) {
                continue; // both ends split alike: the peer expects nothing there either
            }
            pending.add(submit(senders.get(i), () -> link.sendFloats(a, off, len, exact)));
        }
        for (int i = 1; i < streams; i++) {
            RingReceiver link = previous.get(i);
            int off = recvOff + recvParts.start(i);
            int len = recvParts.size(i);
            if (len == 0) {
                continue;
            }
            pending.add(submit(receivers, () -> link.receiveFloats(a, off, len, add, exact, finish)));
        }
        previous.get(0).receiveFloats(a, recvOff, recvParts.size(0), add, exact, finish);
        for (Future<?> f : pending) {
            await(f);
        }
    }

    /** Closes every connection and stops the threads; a step in progress fails. */
    @Override
    public void close() {
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
                } catch (IOException e) {
                    onFailure.accept(e); // wake the calling thread instead of letting it wait for data that will not come
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
