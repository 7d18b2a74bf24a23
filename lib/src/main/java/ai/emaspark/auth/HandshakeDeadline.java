package ai.emaspark.auth;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a connection that has not finished authenticating in time, however it trickles its bytes:
 * a read timeout alone bounds each read, not the handshake (a slow client sending a byte every few
 * seconds would hold a slot for minutes).
 */
public final class HandshakeDeadline implements AutoCloseable {
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "handshake-deadline");
        t.setDaemon(true);
        return t;
    });

    private final ScheduledFuture<?> closing;

    private HandshakeDeadline(ScheduledFuture<?> closing) {
        this.closing = closing;
    }

    /** Closes {@code connection} after {@code timeout} unless {@link #close()} comes first. */
    public static HandshakeDeadline of(Closeable connection, Duration timeout) {
        return new HandshakeDeadline(TIMER.schedule(() -> {
            try {
                connection.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS));
    }

    /** Whether the deadline passed and the connection was closed. */
    public boolean expired() {
        return closing.isDone() && !closing.isCancelled();
    }

    /** The handshake finished in time. */
    @Override
    public void close() {
        closing.cancel(false);
    }
}
