package ai.emaspark.data;

import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Batches for one task. A reader thread takes encoded rows from the feed (shards, in plan order)
 * and hands each to a pool of {@code threads} decoders; the futures queue up in feed order, a
 * bounded number ahead, so the batches never depend on thread timing and memory stays bounded. A row
 * that does not decode is skipped and recorded; in training the next row (the rank's reserve after
 * its own part) takes its place, so every rank fills every batch.
 */
public final class BatchLoader implements AutoCloseable {
    /** Turns one encoded row into {@code 3 x crop x crop} floats at an offset. */
    public interface Decoder {
        int cropSize();

        void apply(String key, byte[] encoded, float[] out, int offset);
    }

    private record Decoded(ImageRow row, float[] pixels, String error) {}

    private static final CompletableFuture<Decoded> END = CompletableFuture.completedFuture(null);

    private final Decoder decoder;
    private final int batchSize;
    private final boolean refill;
    private final ExecutorService pool;
    private final BlockingQueue<Future<Decoded>> ahead;
    private final Thread reader;
    private final Set<String> skipped = new LinkedHashSet<>();
    private volatile Throwable readFailure;
    private boolean ended;

    /**
     * @param feed the task's encoded rows in order
     * @param refill true to keep every batch full (training); false to let the last batch shrink
     */
    public BatchLoader(Iterator<ImageRow> feed, boolean refill, int batchSize, Decoder decoder, int threads) {
        this.decoder = decoder;
        this.batchSize = batchSize;
        this.refill = refill;
        this.pool = Executors.newFixedThreadPool(threads, r -> daemon(r, "emaspark-decode"));
        this.ahead = new ArrayBlockingQueue<>(Math.max(2 * batchSize, 4 * threads));
        this.reader = daemon(() -> readAll(feed), "emaspark-read");
        reader.start();
    }

    private static Thread daemon(Runnable body, String name) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        return thread;
    }

    private void readAll(Iterator<ImageRow> feed) {
        try {
            while (feed.hasNext()) {
                ImageRow row = feed.next();
                ahead.put(pool.submit(() -> decode(row)));
            }
        } catch (InterruptedException closing) {
            return;
        } catch (Throwable e) { // an Error too: the consumer must hear of it, not wait for a batch forever
            readFailure = e instanceof RuntimeException && e.getCause() != null ? e.getCause() : e;
        } finally {
            closeQuietly(feed); // a training feed never ends by itself: release its open shard
        }
        try {
            ahead.put(END);
        } catch (InterruptedException closing) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Iterator<ImageRow> feed) {
        if (feed instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception ignored) {
                // nothing more to read anyway
            }
        }
    }

    private Decoded decode(ImageRow row) {
        int size = decoder.cropSize();
        float[] pixels = new float[3 * size * size];
        try {
            decoder.apply(row.key(), row.image(), pixels, 0);
            return new Decoded(row, pixels, null);
        } catch (UndecodableImageException e) {
            return new Decoded(row, null, e.getMessage());
        }
    }

    /** Fills {@code into}; a count of 0 means the feed is exhausted (evaluation). */
    public Batch next(Batch into) throws IOException {
        int pixels = 3 * decoder.cropSize() * decoder.cropSize();
        int count = 0;
        while (count < batchSize) {
            Decoded decoded = take();
            if (decoded == null) {
                break;
            }
            if (decoded.error() != null) {
                skipped.add((decoded.row().source() == null ? decoded.row().key() : decoded.row().source()) + ": " + decoded.error());
                continue;
            }
            System.arraycopy(decoded.pixels(), 0, into.images(), count * pixels, pixels);
            into.labels()[count] = decoded.row().label();
            count++;
        }
        if (refill && count < batchSize) {
            throw new IOException("no decodable image left to fill a training batch (" + skipped.size() + " skipped)");
        }
        return into.withCount(count);
    }

    private Decoded take() throws IOException {
        if (ended) {
            return null;
        }
        try {
            Decoded decoded = ahead.take().get();
            if (decoded == null) {
                ended = true;
                if (readFailure != null) {
                    throw new IOException("reading the shards failed: " + readFailure.getMessage(), readFailure);
                }
            }
            return decoded;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while decoding images", e);
        } catch (ExecutionException e) {
            throw new IOException("decoding an image failed: " + e.getCause(), e.getCause());
        }
    }

    /** Rows skipped so far, each "source: reason". */
    public List<String> skipped() {
        return List.copyOf(skipped);
    }

    @Override
    public void close() {
        reader.interrupt();
        pool.shutdownNow();
    }
}
