package ai.emaspark.comm;

import ai.emaspark.auth.AuthException;
import ai.emaspark.auth.Handshake;
import ai.emaspark.auth.RunSecret;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnresolvedAddressException;
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
 * One rank's ring connections: out to the next rank, in from the previous one (one or several streams
 * each), each authenticated by the run's secret ({@link Handshake}) for this ring, these two ranks and
 * its stream. Anyone may reach a rank's listening port on a shared network: connections that do not prove the secret
 * within {@link #STRANGER_TIMEOUT} are refused and logged, and the rank keeps accepting until its
 * real peer arrives, so a port scanner or an impostor neither joins the ring nor fails the epoch.
 * Like the service behind any open port, a flood of strangers can still delay it.
 *
 * <p>A crowded rendezvous delays, never fails: a listener with no slot free for a connection
 * ({@link Admission}, which keeps slots for the peer's address) sends {@link Handshake#busy()} and closes
 * it, and the dialling rank comes back until its deadline whenever it is turned away before the hello.
 * After the hello it is final: a wrong secret or another ring's peer does not get better by retrying.
 */
final class RingConnector {
    /** How long an accepted connection has to authenticate (a real peer does in milliseconds). */
    static final Duration STRANGER_TIMEOUT = Duration.ofSeconds(5);
    static final int MAX_PENDING = 16;
    static final int MAX_PENDING_PER_HOST = 2;
    /** Requested socket buffers; Linux caps them at net.core.rmem_max / wmem_max. */
    static final int SOCKET_BUFFER_BYTES = 4 << 20;
    private static final Logger LOG = LoggerFactory.getLogger(RingConnector.class);

    private RingConnector() {}

    /**
     * A rank's connections, {@code streams} each way, with the keys of each: what it sends to the next
     * rank, what it receives from the previous; index = stream.
     */
    record Links(List<SocketChannel> out, List<SocketChannel> in, List<Handshake.Session> toNext,
            List<Handshake.Session> fromPrevious) {
        void closeQuietly() {
            out.forEach(RingConnector::closeQuietly);
            in.forEach(RingConnector::closeQuietly);
        }
    }

    /**
     * Connects to the next rank (retrying until the peer listens) while accepting from the previous
     * one; both handshakes run at once, so no rank waits for another to finish its own. With several
     * {@code streams} each link is that many connections, each bound to its index by its handshake.
     *
     * @param context what this ring is for (e.g. "epoch 3 attempt 1"): a peer of another ring is refused
     */
    static Links connect(int rank, List<String> addresses, ServerSocketChannel server, Duration timeout, RunSecret secret,
            String context, int streams) throws IOException {
        int world = addresses.size();
        int next = (rank + 1) % world;
        int prev = (rank - 1 + world) % world;
        long deadline = System.nanoTime() + timeout.toNanos();
        String nextPeer = "rank " + next + " at " + addresses.get(next);
        List<String> toNext = streamContexts(linkContext(context, rank, next, addresses), streams);
        CompletableFuture<List<Dialed>> out = CompletableFuture.supplyAsync(() -> {
            List<Dialed> dialed = new ArrayList<>();
            try {
                for (String stream : toNext) { // one at a time: the listener sees one of ours authenticating
                    dialed.add(dialNext(rank, addresses.get(next), next, secret, stream, deadline, timeout));
                }
                return dialed;
            } catch (IOException e) {
                dialed.forEach(d -> closeQuietly(d.channel()));
                throw new java.io.UncheckedIOException(e);
            }
        }, r -> daemon(r, "ring-connect-rank" + rank));
        List<RingAcceptor.Accepted> in = List.of();
        try {
            // A refused dial is final: the accept stops waiting for a ring that cannot form.
            in = RingAcceptor.acceptPeer(server, secret, streamContexts(linkContext(context, prev, rank, addresses), streams),
                    addresses.get(prev), prev, deadline, timeout, out);
            List<Dialed> dialed = await(out, deadline, nextPeer);
            return new Links(dialed.stream().map(Dialed::channel).toList(), in.stream().map(RingAcceptor.Accepted::channel).toList(),
                    dialed.stream().map(d -> d.handshake().session()).toList(),
                    in.stream().map(a -> a.handshake().session()).toList());
        } catch (IOException | RuntimeException e) {
            in.forEach(a -> closeQuietly(a.channel()));
            out.thenAccept(dialed -> dialed.forEach(d -> closeQuietly(d.channel())));
            throw e;
        }
    }

    /** What each stream of a link authenticates: one stream keeps the link's own context. */
    private static List<String> streamContexts(String link, int streams) {
        if (streams == 1) {
            return List.of(link);
        }
        List<String> contexts = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            contexts.add(link + " stream " + i + " of " + streams);
        }
        return contexts;
    }

    /** The connection to the next rank, and the handshake it passed. */
    private record Dialed(SocketChannel channel, Handshake.Client handshake) {}

    /** The next rank closed, reset or was busy before its hello: it did not refuse us, we may dial again. */
    private static final class TurnedAway extends IOException {
        private static final long serialVersionUID = 1L;

        TurnedAway(String reason) {
            super(reason);
        }
    }

    /**
     * Connects to the next rank and authenticates, dialling again while it turns this rank away before
     * its hello (strangers hold its slots), with a growing pause, until the deadline.
     */
    private static Dialed dialNext(int rank, String address, int next, RunSecret secret, String context, long deadline,
            Duration timeout) throws IOException {
        String peer = "rank " + next + " at " + address;
        long pauseMs = 100;
        for (int turnedAway = 1; ; turnedAway++) {
            SocketChannel channel = connectWithRetry(address, next, deadline, timeout);
            Handshake.Client handshake = Handshake.client(secret, context); // a fresh nonce per connection
            try {
                clientHandshake(channel, handshake, deadline, peer);
                return new Dialed(channel, handshake);
            } catch (TurnedAway e) {
                closeQuietly(channel);
                long leftMs = millisLeft(deadline);
                if (leftMs <= pauseMs) {
                    throw new SocketTimeoutException(peer + " turned rank " + rank + " away " + turnedAway
                            + " times until the connect timeout (" + timeout + "), last: " + e.getMessage());
                }
                LOG.info("ring rank {}: {} turned it away before its hello ({}), {} time(s); dialling again in {} ms, {} s left",
                        rank, peer, e.getMessage(), turnedAway, pauseMs, leftMs / 1000);
                sleep(pauseMs);
                pauseMs = Math.min(2 * pauseMs, 500);
            } catch (IOException | RuntimeException e) {
                closeQuietly(channel);
                throw e;
            }
        }
    }

    private static void clientHandshake(SocketChannel channel, Handshake.Client client, long deadline, String peer)
            throws IOException {
        Socket socket = channel.socket();
        socket.setSoTimeout((int) Math.max(1, millisLeft(deadline)));
        DataInputStream in = new DataInputStream(socket.getInputStream());
        try {
            socket.getOutputStream().write(client.answer(readHello(in)));
            byte[] proof = new byte[Handshake.PROOF_BYTES];
            in.readFully(proof);
            client.check(proof);
        } catch (Handshake.Busy e) {
            throw new TurnedAway(e.getMessage());
        } catch (AuthException e) {
            throw new AuthException(peer + " is not this ring's peer: " + e.getMessage());
        } catch (SocketTimeoutException e) {
            throw new SocketTimeoutException("handshake with " + peer + " did not finish before the connect timeout");
        }
    }

    /** The next rank's hello. A connection that ends before it was turned away (full slots), not refused. */
    private static byte[] readHello(DataInputStream in) throws IOException {
        byte[] hello = new byte[Handshake.HELLO_BYTES];
        try {
            in.readFully(hello);
            return hello;
        } catch (InterruptedIOException | ClosedChannelException e) {
            throw e; // the deadline, or this rank giving up: not the peer's doing
        } catch (EOFException e) {
            throw new TurnedAway("it closed the connection");
        } catch (IOException e) {
            throw new TurnedAway("the connection broke: " + e.getMessage());
        }
    }

    private static List<Dialed> await(CompletableFuture<List<Dialed>> out, long deadline, String peer) throws IOException {
        try {
            return out.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : e.getCause();
            throw cause instanceof IOException io ? io : new IOException("connecting to " + peer + " failed", cause);
        } catch (TimeoutException e) {
            throw new SocketTimeoutException("connecting to " + peer + " did not finish before the connect timeout");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while connecting to " + peer);
        }
    }

    /** What the two ends of one link authenticate: the ring, the pair of ranks and every rank's address. */
    private static String linkContext(String context, int from, int to, List<String> addresses) {
        return "ring " + context + " rank " + from + " to " + to + " of " + addresses.size() + " " + String.join(",", addresses);
    }

    private static SocketChannel connectWithRetry(String address, int peer, long deadline, Duration timeout)
            throws IOException {
        IOException last = null;
        long backoffMs = 10;
        while (true) {
            long leftMs = millisLeft(deadline);
            if (leftMs <= 0) {
                throw new IOException("could not connect to rank " + peer + " at " + address + " within "
                        + timeout + (last != null ? ": " + last : ""), last);
            }
            SocketChannel ch = SocketChannel.open();
            try {
                configure(ch);
                InetSocketAddress target = parse(address); // resolve per attempt: DNS may come up late
                ch.socket().connect(target, (int) Math.min(leftMs, Integer.MAX_VALUE));
                return ch;
            } catch (IOException e) {
                last = e;
            } catch (UnresolvedAddressException e) {
                last = new UnknownHostException(address);
            }
            ch.close();
            sleep(Math.min(backoffMs, leftMs));
            backoffMs = Math.min(2 * backoffMs, 500);
        }
    }

    static void configure(SocketChannel ch) throws IOException {
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
        ch.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
    }

    static InetSocketAddress parse(String address) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) {
            throw new IllegalArgumentException("expected host:port, got '" + address + "'");
        }
        String host = address.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1); // [IPv6]:port
        }
        return new InetSocketAddress(host, Integer.parseInt(address.substring(colon + 1)));
    }

    private static long millisLeft(long deadline) {
        return TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
    }

    static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void sleep(long ms) throws InterruptedIOException {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }

    static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing is best effort
            }
        }
    }
}
