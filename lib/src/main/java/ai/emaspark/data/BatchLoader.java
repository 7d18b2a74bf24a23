package ai.emaspark.data;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Batches for one task: reads and decodes images on {@code threads} worker threads, a bounded
 * window ahead of the consumer, and hands them out in the plan's order, so the batches do not depend
 * on thread timing. An image that cannot be read or decoded is skipped and recorded; in training
 * the next candidate (the rank's reserve, then its own images again) takes its place, so every rank
 * still fills every batch.
 */
public final class BatchLoader implements AutoCloseable {
    private final ImageSource source;
    private final ImageTransform transform;
    private final int batchSize;
    private final boolean refill;
    private final Iterator<Sample> candidates;
    private final ExecutorService pool;
    private final Deque<Future<Decoded>> window = new ArrayDeque<>();
    private final int windowSize;
    private final java.util.Set<String> skipped = new java.util.LinkedHashSet<>();

    private record Decoded(Sample sample, float[] pixels, String error) {}

    /**
     * @param samples the task's images in order
     * @param reserve replacements for undecodable images (training), empty for evaluation
     * @param refill true to keep every batch full (training); false to let batches shrink (evaluation)
     */
    public BatchLoader(List<Sample> samples, List<Sample> reserve, boolean refill, int batchSize,
            ImageSource source, ImageTransform transform, int threads) {
        this.source = source;
        this.transform = transform;
        this.batchSize = batchSize;
        this.refill = refill;
        this.candidates = refill ? new Candidates(samples, reserve) : samples.iterator();
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "emaspark-decode");
            t.setDaemon(true);
            return t;
        });
        this.windowSize = Math.max(2 * batchSize, 4 * threads);
        fillWindow();
    }

    /** The next batch, or one with count 0 when an evaluation split is exhausted. */
    public Batch next(Batch into) throws IOException {
        int size = transform.cropSize();
        int pixels = 3 * size * size;
        int count = 0;
        while (count < batchSize) {
            Decoded decoded = take();
            if (decoded == null) {
                break;
            }
            if (decoded.error() != null) {
                skipped.add(decoded.sample().path() + ": " + decoded.error());
                continue;
            }
            System.arraycopy(decoded.pixels(), 0, into.images(), count * pixels, pixels);
            into.labels()[count] = decoded.sample().label();
            count++;
        }
        if (refill && count < batchSize) {
            throw new IOException("no decodable image left to fill a training batch (" + skipped.size() + " skipped)");
        }
        return into.withCount(count);
    }

    private Decoded take() throws IOException {
        fillWindow();
        Future<Decoded> next = window.poll();
        if (next == null) {
            return null;
        }
        try {
            return next.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while decoding images", e);
        } catch (ExecutionException e) {
            throw new IOException("reading an image failed: " + e.getCause(), e.getCause());
        } finally {
            fillWindow();
        }
    }

    private void fillWindow() {
        while (window.size() < windowSize && candidates.hasNext()) {
            Sample sample = candidates.next();
            window.add(pool.submit(() -> decode(sample)));
        }
    }

    private Decoded decode(Sample sample) throws IOException {
        byte[] bytes = source.read(sample.path());
        int size = transform.cropSize();
        float[] pixels = new float[3 * size * size];
        try {
            transform.apply(sample.key(), bytes, pixels, 0);
            return new Decoded(sample, pixels, null);
        } catch (UndecodableImageException e) {
            return new Decoded(sample, null, e.getMessage());
        }
    }

    /** Files skipped so far, each "path: reason". */
    public List<String> skipped() {
        return List.copyOf(skipped);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }

    /** Training candidates: the rank's images, then its reserve, then its images again, endlessly. */
    private static final class Candidates implements Iterator<Sample> {
        private final List<Sample> samples;
        private final List<Sample> reserve;
        private int position;

        Candidates(List<Sample> samples, List<Sample> reserve) {
            this.samples = samples;
            this.reserve = reserve;
        }

        @Override
        public boolean hasNext() {
            return !samples.isEmpty();
        }

        @Override
        public Sample next() {
            if (samples.isEmpty()) {
                throw new NoSuchElementException();
            }
            int cycle = samples.size() + reserve.size();
            int index = position++ % cycle;
            return index < samples.size() ? samples.get(index) : reserve.get(index - samples.size());
        }
    }
}
