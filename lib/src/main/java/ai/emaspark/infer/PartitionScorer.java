package ai.emaspark.infer;

import ai.djl.Device;
import ai.emaspark.data.Batch;
import ai.emaspark.data.UndecodableImageException;
import ai.emaspark.spark.TaskDevices;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.LongAdder;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.TaskCompletionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores one partition, lazily, batch by batch: rows are read on the task thread (Spark's readers expect
 * it), their images decoded ahead on a few threads, and every batch holds {@code batchSize} images that
 * decoded, as the evaluation's batches do; a row whose image does not decode gets a null prediction.
 * Each output row is the input row plus the prediction.
 */
final class PartitionScorer implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(PartitionScorer.class);
    /** Devices this executor JVM said it scores on: once each in its log. */
    private static final java.util.Set<String> LOGGED_DEVICES = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final int SKIPS_LISTED = 5;

    private final ScoringSettings settings;
    private final CollectionAccumulator<PartitionStats> stats; // null when nobody asked for them

    PartitionScorer(ScoringSettings settings, CollectionAccumulator<PartitionStats> stats) {
        this.settings = settings;
        this.stats = stats;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        return new Scoring(rows, TaskContext.get());
    }

    /** A row on its way: its decode running or done ({@code error} null when the image decoded). */
    private record Pending(Row row, float[] pixels, Future<String> error) {}

    private final class Scoring implements Iterator<Row> {
        private final Iterator<Row> rows;
        private final TaskContext context;
        private final ImageInput input = settings.input();
        private final Predictions predictions = settings.predictions();
        private final ExecutorService pool;
        private final int window = Math.max(2 * settings.batchSize(), 4 * settings.decodeThreads());
        private final Deque<Pending> pending = new ArrayDeque<>();
        private final Deque<Row> ready = new ArrayDeque<>();
        private final LongAdder decodeNanos = new LongAdder();
        private final List<String> skippedExamples = new ArrayList<>();
        private final long startMillis = System.currentTimeMillis();
        private Device device;
        private String deviceName = "none";
        private ModelCache.Lease lease;
        private Batch batch;
        private long images;
        private long skipped;
        private long readNanos;
        private long waitNanos;
        private long forwardNanos;
        private boolean closed;

        Scoring(Iterator<Row> rows, TaskContext context) {
            this.rows = rows;
            this.context = context;
            this.pool = Executors.newFixedThreadPool(settings.decodeThreads(), r -> {
                Thread thread = new Thread(r, "emaspark-score-decode");
                thread.setDaemon(true);
                return thread;
            });
            // A task that fails or stops early (a limit) still gives its replica back and stops its threads.
            context.addTaskCompletionListener((TaskCompletionListener) done -> close());
        }

        @Override
        public boolean hasNext() {
            while (ready.isEmpty() && (!pending.isEmpty() || rows.hasNext())) {
                scoreBatch();
            }
            if (ready.isEmpty()) {
                close();
                return false;
            }
            return true;
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return ready.poll();
        }

        /** The next run of rows holding batchSize decodable images (fewer at the end), scored in one forward pass. */
        private void scoreBatch() {
            if (lease == null) {
                TaskDevices.Choice choice = TaskDevices.forInference(context);
                device = choice.device();
                deviceName = device.isGpu() ? "gpu(" + device.getDeviceId() + ")" : "cpu";
                if (LOGGED_DEVICES.add(choice.description())) {
                    LOG.info("executor {} scores on {}", executorId(), choice.description());
                }
                try {
                    lease = ModelCache.borrow(settings.model(), settings.hadoopConf(), device);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read the weights of " + settings.model().describe(), e);
                }
                batch = Batch.allocate(settings.batchSize(), settings.model().cropSize());
            }
            List<Pending> run = new ArrayList<>();
            List<String> errors = new ArrayList<>();
            int decoded = 0;
            while (decoded < settings.batchSize()) {
                topUp();
                Pending next = pending.poll();
                if (next == null) {
                    break;
                }
                String error = await(next);
                run.add(next);
                errors.add(error);
                if (error == null) {
                    System.arraycopy(next.pixels(), 0, batch.images(), decoded * input.floats(), input.floats());
                    decoded++;
                } else {
                    skip(error);
                }
            }
            float[] logits = null;
            if (decoded > 0) {
                long start = System.nanoTime();
                logits = lease.replica().logits(batch.withCount(decoded));
                forwardNanos += System.nanoTime() - start;
            }
            int image = 0;
            for (int i = 0; i < run.size(); i++) {
                ready.add(withPrediction(run.get(i).row(), errors.get(i) == null ? predictions.of(logits, image++) : null));
            }
            images += decoded;
        }

        /** Keeps {@code window} rows decoding ahead of the forward passes. */
        private void topUp() {
            while (pending.size() < window) {
                long reading = System.nanoTime();
                Row row = rows.hasNext() ? rows.next() : null;
                readNanos += System.nanoTime() - reading;
                if (row == null) {
                    return;
                }
                Object value = row.get(settings.inputIndex());
                float[] pixels = new float[input.floats()];
                pending.add(new Pending(row, pixels, pool.submit(() -> {
                    long start = System.nanoTime();
                    try {
                        input.apply(value, pixels, 0);
                        return null;
                    } catch (UndecodableImageException e) {
                        return e.getMessage();
                    } catch (RuntimeException e) { // a malformed row (a null field, a degenerate image): skipped, not fatal
                        return e.getClass().getSimpleName() + ": " + e.getMessage();
                    } finally {
                        decodeNanos.add(System.nanoTime() - start);
                    }
                })));
            }
        }

        private String await(Pending next) {
            long start = System.nanoTime();
            try {
                return next.error().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while decoding images", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("decoding an image failed: " + e.getCause(), e.getCause());
            } finally {
                waitNanos += System.nanoTime() - start;
            }
        }

        private void skip(String reason) {
            skipped++;
            if (skippedExamples.size() < SKIPS_LISTED) {
                skippedExamples.add(reason);
                LOG.warn("partition {}: an image does not decode, its prediction is null: {}", context.partitionId(), reason);
            }
        }

        private void close() {
            if (closed) {
                return;
            }
            closed = true;
            pool.shutdownNow();
            if (lease != null) {
                // a failed or killed task may have left the replica mid-forward: not handed to the next one
                ModelCache.giveBack(settings.model(), device, lease.replica(), !context.isFailed() && !context.isInterrupted());
            }
            PartitionStats done = new PartitionStats(executorId(), deviceName, images, skipped,
                    skippedExamples, readNanos / 1e9, decodeNanos.sum() / 1e9, waitNanos / 1e9, forwardNanos / 1e9,
                    lease == null ? 0 : lease.setupSeconds(), lease != null && lease.readWeights(), startMillis,
                    System.currentTimeMillis());
            if (images + skipped > 0) {
                LOG.info(String.format(Locale.ROOT, "partition %d: scored %d images, %d skipped, on %s in %.2f s (reading rows %.2f s, "
                        + "decode %.2f s on %d threads, forward %.2f s, replica %.2f s%s)", context.partitionId(), images, skipped,
                        deviceName, done.wallSeconds(), done.readSeconds(), done.decodeSeconds(), settings.decodeThreads(), done.forwardSeconds(),
                        done.setupSeconds(), done.readWeights() ? " with reading the weights" : ""));
            }
            if (stats != null) {
                stats.add(done);
            }
        }
    }

    private static Row withPrediction(Row row, Row prediction) {
        Object[] values = new Object[row.size() + 1];
        for (int i = 0; i < row.size(); i++) {
            values[i] = row.get(i);
        }
        values[row.size()] = prediction;
        return RowFactory.create(values);
    }

    private static String executorId() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        return env == null ? "driver" : env.executorId();
    }
}
