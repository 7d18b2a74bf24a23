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
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Strangers on the network against ring ranks' ports, before and during the rendezvous and after the
 * ring is up: garbage, a slow client, a wrong secret, a rank of another attempt, a replayed handshake,
 * absurd sizes. None joins the ring, none fails it, and the sums are bit for bit those of a ring
 * nobody disturbed.
 */
class RingStrangersTest {
    private static final int WORLD = 3;
    private static final int LENGTH = 300_001;

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
                socket.getOutputStream().write(client.answer(hello));
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
