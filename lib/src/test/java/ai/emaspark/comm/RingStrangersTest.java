package ai.emaspark.comm;

import static ai.emaspark.comm.RingTestSupport.AUTH;
import static ai.emaspark.comm.RingTestSupport.closeAll;
import static ai.emaspark.comm.RingTestSupport.onAllRanks;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.auth.Handshake;
import ai.emaspark.auth.RunSecret;
import ai.emaspark.auth.Strangers;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Strangers on the network against ring ranks' ports, before and during the rendezvous and after the
 * ring is up: garbage, a slow client, a wrong secret, a rank of another attempt, a replayed handshake,
 * absurd sizes, a crowd stalling at the peer's own address. None joins the ring, none fails it, and
 * the sums are bit for bit those of a ring nobody disturbed.
 */
class RingStrangersTest {
    private static final int WORLD = 3;
    private static final int LENGTH = 300_001;
    /** Where the previous rank connects from in these tests: strangers there look like it until they authenticate. */
    private static final InetAddress PEER_HOST = Strangers.host(1);
    private static final Duration RENDEZVOUS = Duration.ofSeconds(20);

    @Test
    void strangersNeitherJoinNorBreakTheRing() throws Exception {
        float[] clean = allReduce(List.of());

        List<ServerSocketChannel> servers = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        for (int r = 0; r < WORLD; r++) {
            servers.add(RingAllReduce.listen("127.0.0.1"));
            addresses.add("127.0.0.1:" + servers.get(r).socket().getLocalPort());
        }
        int victim = servers.get(1).socket().getLocalPort();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<String>> attacks = new ArrayList<>();
        // Before and during the rendezvous.
        attacks.add(pool.submit(() -> refusedUnlessAnswered(Strangers.send(Strangers.host(3), victim, Strangers.garbage(4096, 1), 8000))));
        attacks.add(pool.submit(() -> Strangers.slowLoris(Strangers.host(4), victim, 500, 30_000) < RingConnector.STRANGER_TIMEOUT.toMillis() + 3000
                ? "refused a slow client" : "kept a slow client"));
        attacks.add(pool.submit(() -> impostor(victim, RunSecret.generate(), AUTH.context(), addresses)));
        attacks.add(pool.submit(() -> impostor(victim, RingTestSupport.SECRET, "epoch 0 attempt 1", addresses)));
        attacks.add(pool.submit(() -> refusedUnlessAnswered(Strangers.send(Strangers.host(5), victim, hugeNumbers(), 8000))));
        // Rank 1 listens and serves the strangers; its real peer, rank 0, comes only once they are done.
        List<RingAllReduce> ring = onAllRanks(WORLD, r -> () -> {
            if (r == 0) {
                for (Future<String> attack : attacks) {
                    attack.get();
                }
            }
            return RingAllReduce.connect(r, addresses, servers.get(r), Duration.ofSeconds(60), RingAllReduce.DEFAULT_IO_TIMEOUT, AUTH);
        });
        try {
            // During the epoch: the listening sockets are closed, nobody can even connect.
            assertThrows(ConnectException.class, () -> Strangers.connect(victim).close());
            List<float[]> results = onAllRanks(WORLD, r -> () -> {
                float[] a = input(r);
                ring.get(r).allReduceMean(a);
                return a;
            });
            for (float[] result : results) {
                assertArrayEquals(clean, result, "bit for bit the undisturbed ring's result");
            }
        } finally {
            closeAll(ring);
        }
        for (Future<String> attack : attacks) {
            String outcome = attack.get();
            assertTrue(outcome.startsWith("refused"), outcome);
        }
        pool.shutdown();
    }

    @Test
    void aReplayedHandshakeIsWorthlessAgainstAFreshNonce() throws Exception {
        // Record a real rank's side of a real link, then send those bytes to a new listener.
        List<ServerSocketChannel> servers = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            servers.add(RingAllReduce.listen("127.0.0.1"));
        }
        addresses.add("127.0.0.1:" + servers.get(0).socket().getLocalPort());
        Strangers.RecordingProxy proxy = new Strangers.RecordingProxy(servers.get(1).socket().getLocalPort());
        addresses.add("127.0.0.1:" + proxy.port()); // rank 0 reaches rank 1 through the proxy
        List<RingAllReduce> ring = onAllRanks(2, r -> () ->
                RingAllReduce.connect(r, addresses, servers.get(r), Duration.ofSeconds(30), RingAllReduce.DEFAULT_IO_TIMEOUT, AUTH));
        onAllRanks(2, r -> () -> {
            ring.get(r).allReduceMean(input(r));
            return null;
        });
        closeAll(ring);
        proxy.close();
        byte[] recorded = proxy.recorded();
        assertTrue(recorded.length > Handshake.ANSWER_BYTES, "the proxy saw the handshake and a call");

        ServerSocketChannel fresh = RingAllReduce.listen("127.0.0.1");
        int port = fresh.socket().getLocalPort();
        Future<byte[]> replay = Executors.newSingleThreadExecutor().submit(() -> Strangers.send(port, recorded, 8000));
        List<String> fakeAddresses = List.of("127.0.0.1:1", "127.0.0.1:" + port);
        // Rank 1 waits for rank 0; only the replay comes, and it is refused: rank 1 times out rather than accept it.
        IOException e = assertThrows(IOException.class, () -> RingAllReduce.connect(1, fakeAddresses, fresh,
                Duration.ofSeconds(3), RingAllReduce.DEFAULT_IO_TIMEOUT, AUTH));
        assertTrue(e.getMessage().contains("did not connect") || e.getMessage().contains("could not connect"), e.getMessage());
        assertEquals(Handshake.HELLO_BYTES + Handshake.PROOF_BYTES, replay.get().length, "hello, then the refusal, then the end");
        fresh.close();
    }

    /**
     * More stalled connections from the previous rank's own address (its host, or its NAT) than that
     * address may have authenticating: rank 0 is turned away before the hello, tries again, and gets in
     * once a stranger's {@link RingConnector#STRANGER_TIMEOUT} frees a slot. Delayed, never failed.
     */
    @Test
    void strangersStallingAtThePeersAddressDelayTheRendezvousButDoNotFailIt() throws Exception {
        List<ServerSocketChannel> servers = listeners();
        int victim = servers.get(1).socket().getLocalPort();
        long start = System.nanoTime();
        // Connected before any rank starts: rank 1 accepts them before its peer.
        try (Strangers.Stallers crowd = new Strangers.Stallers(PEER_HOST, victim, RingConnector.MAX_PENDING_PER_HOST + 1, false)) {
            List<RingAllReduce> ring = onAllRanks(WORLD, r -> () -> connect(r, servers));
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertRingSums(ring);
            assertTrue(tookMs >= RingConnector.STRANGER_TIMEOUT.toMillis() - 500,
                    "rank 0 got in only once a stranger timed out, after " + tookMs + " ms");
        }
    }

    /**
     * Strangers hold every slot they may and take each back as soon as it is dropped: two at the previous
     * rank's own address, the rest from other hosts. Rank 0 comes once they have refilled: it still gets in.
     */
    @Test
    void strangersRefillingTheirSlotsDoNotKeepThePeerOut() throws Exception {
        List<ServerSocketChannel> servers = listeners();
        int victim = servers.get(1).socket().getLocalPort();
        int perHost = RingConnector.MAX_PENDING_PER_HOST;
        List<Strangers.Stallers> crowd = new ArrayList<>();
        try {
            crowd.add(new Strangers.Stallers(PEER_HOST, victim, perHost, true));
            for (int h = 3; crowd.size() * perHost < RingConnector.MAX_PENDING; h++) {
                crowd.add(new Strangers.Stallers(Strangers.host(h), victim, perHost, true));
            }
            List<RingAllReduce> ring = onAllRanks(WORLD, r -> () -> {
                if (r == 0) {
                    awaitRefilled(crowd, perHost);
                }
                return connect(r, servers);
            });
            assertRingSums(ring);
        } finally {
            for (Strangers.Stallers stallers : crowd) {
                stallers.close();
            }
        }
    }

    /** A refusal after the hello is final: rank 0, dialling a rank of another ring, answers one hello, not one per retry. */
    @Test
    void aRefusedAnswerIsNotRetried() throws Exception {
        ServerSocketChannel own = RingAllReduce.listen("127.0.0.1");
        AtomicInteger answered = new AtomicInteger();
        try (ServerSocket otherRing = new ServerSocket(0, 50, PEER_HOST)) {
            Thread refuser = new Thread(() -> refuseEveryAnswer(otherRing, answered), "another-ring");
            refuser.setDaemon(true);
            refuser.start();
            List<String> addresses = List.of("127.0.0.1:" + own.socket().getLocalPort(), "127.0.0.1:" + otherRing.getLocalPort());
            assertThrows(IOException.class, () -> RingAllReduce.connect(0, addresses, own, Duration.ofSeconds(2),
                    RingAllReduce.DEFAULT_IO_TIMEOUT, AUTH));
        } finally {
            own.close();
        }
        assertEquals(1, answered.get(), "rank 0 took the refusal of its answer as final");
    }

    /** A listener of another ring: a hello, then the refusal of whatever answer comes. */
    private static void refuseEveryAnswer(ServerSocket server, AtomicInteger answered) {
        while (!server.isClosed()) {
            try (Socket socket = server.accept()) {
                Handshake.Server handshake = Handshake.server(RunSecret.generate(), "another ring");
                socket.getOutputStream().write(handshake.hello());
                new java.io.DataInputStream(socket.getInputStream()).readFully(new byte[Handshake.ANSWER_BYTES]);
                answered.incrementAndGet();
                socket.getOutputStream().write(handshake.refusal());
            } catch (IOException closed) {
                // the test is over, or the rank hung up
            }
        }
    }

    /** Until every staller was dropped once (the stranger timeout) and holds its slot again. */
    private static void awaitRefilled(List<Strangers.Stallers> crowd, int each) throws InterruptedException {
        long deadline = System.nanoTime() + RingConnector.STRANGER_TIMEOUT.toNanos() + Duration.ofSeconds(5).toNanos();
        while (!crowd.stream().allMatch(s -> s.opened() >= 2 * each && s.held() == each)) {
            assertTrue(System.nanoTime() < deadline, "the strangers did not take their slots back");
            Thread.sleep(20);
        }
    }

    private static List<ServerSocketChannel> listeners() throws IOException {
        List<ServerSocketChannel> servers = new ArrayList<>();
        for (int r = 0; r < WORLD; r++) {
            servers.add(RingAllReduce.listen(PEER_HOST.getHostAddress()));
        }
        return servers;
    }

    private static RingAllReduce connect(int rank, List<ServerSocketChannel> servers) throws IOException {
        List<String> addresses = new ArrayList<>();
        for (ServerSocketChannel server : servers) {
            addresses.add(PEER_HOST.getHostAddress() + ":" + server.socket().getLocalPort());
        }
        return RingAllReduce.connect(rank, addresses, servers.get(rank), RENDEZVOUS, RingAllReduce.DEFAULT_IO_TIMEOUT, AUTH);
    }

    /** The ring formed works: rank r adds r + 1 everywhere. */
    private static void assertRingSums(List<RingAllReduce> ring) throws Exception {
        try {
            List<float[]> sums = onAllRanks(WORLD, r -> () -> {
                float[] a = new float[1000];
                java.util.Arrays.fill(a, r + 1);
                ring.get(r).allReduceSum(a);
                return a;
            });
            for (float[] sum : sums) {
                assertEquals(WORLD * (WORLD + 1) / 2f, sum[999]);
            }
        } finally {
            closeAll(ring);
        }
    }

    /**
     * Someone with the wrong secret, or with the right one for another attempt, tries to be rank 0
     * (again while the victim turns it away for crowding, until it gets to answer a hello).
     */
    private static String impostor(int port, RunSecret secret, String context, List<String> addresses) throws Exception {
        for (int tries = 0; tries < 50; tries++) {
            try (var socket = Strangers.connect(port)) {
                socket.setSoTimeout(8000);
                var in = new java.io.DataInputStream(socket.getInputStream());
                byte[] hello = new byte[Handshake.HELLO_BYTES];
                try {
                    in.readFully(hello);
                } catch (java.io.EOFException turnedAway) {
                    Thread.sleep(200);
                    continue;
                }
                Handshake.Client client = Handshake.client(secret, "ring " + context + " rank 0 to 1 of " + addresses.size() + " "
                        + String.join(",", addresses));
                byte[] answer;
                try {
                    answer = client.answer(hello);
                } catch (Handshake.Busy turnedAway) {
                    Thread.sleep(200);
                    continue;
                }
                socket.getOutputStream().write(answer);
                byte[] proof = new byte[Handshake.PROOF_BYTES];
                in.readFully(proof);
                client.check(proof);
                return "joined the ring";
            } catch (ai.emaspark.auth.AuthException e) {
                return "refused: " + e.getMessage();
            }
        }
        return "never got to answer";
    }

    private static String refusedUnlessAnswered(byte[] answer) {
        return answer.length <= Handshake.HELLO_BYTES + Handshake.PROOF_BYTES ? "refused" : "answered " + answer.length + " bytes";
    }

    /** The magic and version, then the largest numbers there are where nonces, proofs and a call header go. */
    private static byte[] hugeNumbers() {
        ByteBuffer bytes = ByteBuffer.allocate(Handshake.ANSWER_BYTES + 64);
        bytes.putInt(0x454d5341).putInt(1);
        while (bytes.remaining() >= 4) {
            bytes.putInt(Integer.MAX_VALUE);
        }
        return bytes.array();
    }

    private static float[] input(int rank) {
        float[] a = new float[LENGTH];
        java.util.Random random = new java.util.Random(rank);
        for (int i = 0; i < LENGTH; i++) {
            a[i] = random.nextFloat() - 0.5f;
        }
        return a;
    }

    /** The mean over a ring nobody disturbs. */
    private static float[] allReduce(List<String> unused) throws Exception {
        List<RingAllReduce> ring = RingTestSupport.ring(WORLD);
        try {
            return onAllRanks(WORLD, r -> () -> {
                float[] a = input(r);
                ring.get(r).allReduceMean(a);
                return a;
            }).get(0);
        } finally {
            closeAll(ring);
        }
    }
}
