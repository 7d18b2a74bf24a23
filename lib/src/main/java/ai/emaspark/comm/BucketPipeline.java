package ai.emaspark.comm;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * One bucketed call of the ring ({@link RingAllReduce#allReduceMean(FloatSlab, int, int, IntConsumer,
 * IntConsumer)}): the passes run on the ring's pass thread, each once the calling thread has filled its
 * bucket, and the calling thread gets each bucket as soon as it is final. A caller's exception lets
 * every pass finish, so the other ranks complete the call too, and comes back as a {@link CallerFailure}.
 */
final class BucketPipeline {
    /** One pass of the ring over a bucket. */
    @FunctionalInterface
    interface Pass {
        void run(int bucket) throws IOException;
    }

    /** The caller's own exception from {@code fill} or {@code done}: the ring itself is fine. */
    static final class CallerFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CallerFailure(RuntimeException cause) {
            super(cause);
        }

        @Override
        public synchronized RuntimeException getCause() {
            return (RuntimeException) super.getCause();
        }
    }

    private BucketPipeline() {
    }

    static void run(ExecutorService passer, int count, Pass pass, IntConsumer fill, IntConsumer done) throws IOException {
        Semaphore filled = new Semaphore(0);
        Semaphore finished = new Semaphore(0);
        Future<?> passes = passer.submit(() -> {
            for (int b = 0; b < count; b++) {
                filled.acquire();
                pass.run(b);
                finished.release();
            }
            return null;
        });
        RuntimeException failed = null;
        for (int b = 0; b < count; b++) {
            failed = failed != null ? failed : call(fill, b); // a bucket still travels after a failure
            filled.release();
        }
        for (int b = 0; b < count; b++) {
            awaitBucket(finished, passes);
            failed = failed != null ? failed : call(done, b);
        }
        RingLinks.await(passes);
        if (failed != null) {
            throw new CallerFailure(failed);
        }
    }

    /**
     * The calls of a ring with nothing to move (one rank, or no floats): every fill, then every done; an
     * exception of theirs comes back as a {@link CallerFailure}, as from {@link #run}.
     */
    static void local(int count, IntConsumer fill, IntConsumer done) {
        try {
            for (int b = 0; b < count; b++) {
                fill.accept(b);
            }
            for (int b = 0; b < count; b++) {
                done.accept(b);
            }
        } catch (RuntimeException e) {
            throw new CallerFailure(e);
        }
    }

    private static RuntimeException call(IntConsumer step, int bucket) {
        try {
            step.accept(bucket);
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    /** Waits for the next finished bucket; fails as soon as the passes do. */
    private static void awaitBucket(Semaphore finished, Future<?> passes) throws IOException {
        try {
            while (!finished.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                if (passes.isDone()) {
                    RingLinks.await(passes); // throws its failure
                    if (!finished.tryAcquire()) {
                        throw new IOException("the ring's passes ended before every bucket was exchanged");
                    }
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while exchanging");
        }
    }
}
