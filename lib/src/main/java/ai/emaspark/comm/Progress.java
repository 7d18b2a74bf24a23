package ai.emaspark.comm;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.AsynchronousCloseException;

/**
 * How far one stream's receiver is in a pass: the step it is in and the floats of that step's part it
 * has made final. The stream's sender forwards a step's floats block by block as they become final, so
 * step s+1 leaves while step s still arrives instead of after it (in a ring, what a rank sends at step
 * s+1 is what it received at step s).
 */
final class Progress {
    private int step = -1;
    private int done;
    private boolean aborted;

    /** The receiver has made the first {@code done} floats of step {@code step}'s part final. */
    synchronized void reached(int step, int done) {
        this.step = step;
        this.done = done;
        notifyAll();
    }

    /** Waits until the first {@code done} floats of step {@code step} are final; fails once the ring is closed. */
    synchronized void await(int step, int done) throws IOException {
        while (this.step < step || (this.step == step && this.done < done)) {
            if (aborted) {
                throw new AsynchronousCloseException();
            }
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while forwarding");
            }
        }
    }

    /** The ring closed: a sender waiting here gives up. */
    synchronized void abort() {
        aborted = true;
        notifyAll();
    }
}
