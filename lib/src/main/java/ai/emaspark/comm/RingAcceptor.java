package ai.emaspark.comm;

import static ai.emaspark.comm.RingConnector.STRANGER_TIMEOUT;
import static ai.emaspark.comm.RingConnector.closeQuietly;
import static ai.emaspark.comm.RingConnector.configure;
import static ai.emaspark.comm.RingConnector.daemon;

import ai.emaspark.auth.AuthException;
import ai.emaspark.auth.Handshake;
import ai.emaspark.auth.HandshakeDeadline;
import ai.emaspark.auth.RefusalLog;
import ai.emaspark.auth.RunSecret;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listening half of {@link RingConnector}: accepts the previous rank's connections (every stream of
 * its link) past whoever else reaches the port. Each accepted connection authenticates on its own
 * thread if {@link Admission} has a slot for it; strangers are refused and logged, a crowd is told the
 * listener is busy.
 */
final class RingAcceptor {
    private static final Logger LOG = LoggerFactory.getLogger(RingConnector.class); // one logger for the rendezvous

    private RingAcceptor() {}

    /** The previous rank's connection, and the handshake it passed. */
    record Accepted(SocketChannel channel, Handshake.Server handshake) {}

    /**
     * Accepts until connections prove they are every stream of rank {@code prev} in this ring. Each
     * connection authenticates on its own thread if {@link Admission} has a slot for it, so a stranger
     * that stalls delays nobody; the others are told the listener is busy, and logged.
     */
    static List<Accepted> acceptPeer(ServerSocketChannel server, RunSecret secret, List<String> contexts,
            String address, int prev, long deadline, Duration timeout, CompletableFuture<?> dialing) throws IOException {
        RefusalLog refusals = new RefusalLog(LOG, "ring rank listening at " + server.getLocalAddress());
        List<CompletableFuture<Accepted>> streams = new ArrayList<>();
        contexts.forEach(c -> streams.add(new CompletableFuture<>()));
        CompletableFuture<Void> all = CompletableFuture.allOf(streams.toArray(CompletableFuture[]::new));
        Admission admission = Admission.expecting(address);
        server.configureBlocking(true);
        server.socket().setSoTimeout(200); // to notice the winners and the deadline
        Thread acceptor = daemon(() -> {
            while (!all.isDone() && System.nanoTime() < deadline) {
                Socket socket;
                try {
                    socket = server.socket().accept();
                } catch (SocketTimeoutException e) {
                    continue;
                } catch (IOException e) {
                    if (!server.isOpen()) {
                        return;
                    }
                    continue; // e.g. too many open files: it passes
                }
                InetAddress host = socket.getInetAddress();
                String full = admission.admit(host);
                if (full != null) {
                    refusals.refuse(socket.getRemoteSocketAddress(), full);
                    turnAway(socket);
                    continue;
                }
                daemon(() -> {
                    SocketChannel channel = socket.getChannel();
                    Handshake.Server handshake = Handshake.server(secret, contexts);
                    HandshakeDeadline limit = HandshakeDeadline.of(channel, STRANGER_TIMEOUT);
                    try {
                        configure(channel);
                        try (limit) {
                            serverHandshake(channel, handshake, STRANGER_TIMEOUT.toMillis());
                        }
                        if (!streams.get(handshake.matched()).complete(new Accepted(channel, handshake))) {
                            refusals.refuse(socket.getRemoteSocketAddress(), "rank " + prev + " is connected already"
                                    + (contexts.size() > 1 ? " on stream " + handshake.matched() : ""));
                            closeQuietly(channel);
                        }
                    } catch (IOException e) {
                        refusals.refuse(socket.getRemoteSocketAddress(), limit.expired()
                                ? "it did not authenticate within " + STRANGER_TIMEOUT.toSeconds() + " s" : reason(e));
                        closeQuietly(channel);
                    } finally {
                        admission.release(host);
                    }
                }, "ring-handshake");
            }
        }, "ring-accept");
        CompletableFuture<Void> dialFailed = new CompletableFuture<>();
        dialing.whenComplete((dialed, e) -> {
            if (e != null) {
                dialFailed.completeExceptionally(e);
            }
        });
        try {
            CompletableFuture.anyOf(all, dialFailed).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            return streams.stream().map(CompletableFuture::join).toList();
        } catch (TimeoutException e) {
            long connected = streams.stream().filter(CompletableFuture::isDone).count();
            closeAccepted(streams);
            throw new SocketTimeoutException("rank " + prev + " at " + address + " did not connect within " + timeout
                    + (contexts.size() > 1 ? " (" + connected + " of its " + contexts.size() + " streams did)" : ""));
        } catch (ExecutionException e) {
            closeAccepted(streams);
            Throwable cause = e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : e.getCause();
            throw cause instanceof IOException io ? io : new IOException("accepting rank " + prev + " failed", cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeAccepted(streams);
            throw new InterruptedIOException("interrupted while waiting for rank " + prev);
        } finally {
            streams.forEach(f -> f.complete(null)); // stops the acceptor if some stream never came
            acceptor.interrupt();
        }
    }

    /** The streams that did connect, when the others did not: nobody will use them. */
    private static void closeAccepted(List<CompletableFuture<Accepted>> streams) {
        for (CompletableFuture<Accepted> stream : streams) {
            if (stream.complete(null)) {
                continue; // never came; now it never will
            }
            Accepted accepted = stream.join();
            closeQuietly(accepted == null ? null : accepted.channel());
        }
    }

    /** Tells a connection there is no slot for it now (the peer comes back, a stranger may not), and closes it. */
    private static void turnAway(Socket socket) {
        try {
            socket.getOutputStream().write(Handshake.busy()); // a hello's length: never blocks a fresh socket
        } catch (IOException gone) {
            // closing anyway
        }
        closeQuietly(socket);
    }

    private static void serverHandshake(SocketChannel channel, Handshake.Server server, long timeoutMs) throws IOException {
        Socket socket = channel.socket();
        socket.setSoTimeout((int) timeoutMs);
        OutputStream out = socket.getOutputStream();
        out.write(server.hello());
        byte[] answer = new byte[Handshake.ANSWER_BYTES];
        new DataInputStream(socket.getInputStream()).readFully(answer);
        try {
            out.write(server.check(answer));
        } catch (AuthException e) {
            out.write(server.refusal());
            throw e;
        }
    }

    private static String reason(IOException e) {
        if (e instanceof SocketTimeoutException) {
            return "it did not authenticate within " + STRANGER_TIMEOUT.toSeconds() + " s";
        }
        if (e instanceof EOFException) {
            return "it closed the connection before authenticating";
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }
}
