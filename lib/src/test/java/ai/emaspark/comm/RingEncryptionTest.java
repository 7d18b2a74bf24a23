package ai.emaspark.comm;

import static ai.emaspark.comm.RingTestSupport.SECRET;
import static ai.emaspark.comm.RingTestSupport.closeAll;
import static ai.emaspark.comm.RingTestSupport.onAllRanks;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.auth.Strangers;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** An encrypted ring (spark.network.crypto.enabled): the same bits as a plain one, and nothing a wiretap can read. */
class RingEncryptionTest {
    private static final RingAuth ENCRYPTED = new RingAuth(SECRET, RingTestSupport.CONTEXT, false, true);
    private static final RingAuth PLAIN = new RingAuth(SECRET, RingTestSupport.CONTEXT, false, false);
    private static final RingAuth MACS = new RingAuth(SECRET, RingTestSupport.CONTEXT, true, false);
    private static final int LENGTH = 700_001; // several blocks, chunks of unequal sizes

    private static float[] input(int rank) {
        Random random = new Random(rank);
        float[] a = new float[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            a[i] = (float) random.nextGaussian();
        }
        return a;
    }

    private static List<float[]> allReduce(RingAuth auth, int world) throws Exception {
        List<RingAllReduce> ring = RingTestSupport.ring(world, RingAllReduce.DEFAULT_IO_TIMEOUT, auth);
        try {
            return onAllRanks(world, r -> () -> {
                float[] a = input(r);
                ring.get(r).allReduceMean(a);
                ring.get(r).allReduceSum(a); // a second call: the next nonces
                return a;
            });
        } finally {
            closeAll(ring);
        }
    }

    @Test
    void encryptedRingGivesThePlainRingsBits() throws Exception {
        List<float[]> plain = allReduce(PLAIN, 3);
        List<float[]> encrypted = allReduce(ENCRYPTED, 3);
        List<float[]> macs = allReduce(MACS, 3);
        for (int r = 0; r < 3; r++) {
            assertArrayEquals(plain.get(0), encrypted.get(r), "rank " + r);
            assertArrayEquals(plain.get(0), macs.get(r), "rank " + r);
        }
    }

    @Test
    void aWiretapBetweenTwoRanksSeesNoFloatOfTheirs() throws Exception {
        assertTrue(wiretap(PLAIN) > 0, "control: without encryption the wiretap reads rank 0's gradients");
        assertEquals(0, wiretap(ENCRYPTED), "encrypted: not one 8-byte run of rank 0's floats on the wire");
        assertEquals(0, wiretap(MACS), "block MACs are AES-GCM seals: the floats are secret too");
    }

    @Test
    void anEncryptingRankAndAPlainOneDoNotConnect() throws Exception {
        List<ServerSocketChannel> servers = List.of(RingAllReduce.listen("127.0.0.1"), RingAllReduce.listen("127.0.0.1"));
        List<String> addresses = List.of("127.0.0.1:" + servers.get(0).socket().getLocalPort(),
                "127.0.0.1:" + servers.get(1).socket().getLocalPort());
        List<RingTestSupport.Outcome<RingAllReduce>> outcomes = RingTestSupport.outcomes(2, r -> () -> RingAllReduce.connect(r,
                addresses, servers.get(r), Duration.ofSeconds(3), RingAllReduce.DEFAULT_IO_TIMEOUT, r == 0 ? ENCRYPTED : PLAIN));
        for (RingTestSupport.Outcome<RingAllReduce> outcome : outcomes) {
            if (outcome.value() != null) {
                outcome.value().close();
            }
            assertTrue(outcome.error() != null, "a rank of the other mode is refused at the handshake");
        }
        for (ServerSocketChannel server : servers) {
            server.close();
        }
    }

    /** Rank 0 reaches rank 1 through a recording proxy; returns how many of rank 0's float pairs appear in what it sent. */
    private static int wiretap(RingAuth auth) throws Exception {
        List<ServerSocketChannel> servers = List.of(RingAllReduce.listen("127.0.0.1"), RingAllReduce.listen("127.0.0.1"));
        Strangers.RecordingProxy proxy = new Strangers.RecordingProxy(servers.get(1).socket().getLocalPort());
        List<String> addresses = List.of("127.0.0.1:" + servers.get(0).socket().getLocalPort(), "127.0.0.1:" + proxy.port());
        List<RingAllReduce> ring = onAllRanks(2, r -> () ->
                RingAllReduce.connect(r, addresses, servers.get(r), Duration.ofSeconds(30), RingAllReduce.DEFAULT_IO_TIMEOUT, auth));
        try {
            onAllRanks(2, r -> () -> {
                ring.get(r).allReduceSum(input(r));
                return null;
            });
        } finally {
            closeAll(ring);
            proxy.close();
        }
        byte[] wire = proxy.recorded();
        assertTrue(wire.length > 4 * LENGTH / 2, "the proxy saw rank 0's half of the floats go by");
        // Rank 0 sends its first chunk in the reduce-scatter: look for 1000 pairs of its floats there.
        float[] sent = input(0);
        String tapped = new String(wire, java.nio.charset.StandardCharsets.ISO_8859_1);
        int found = 0;
        for (int i = 0; i < 2000; i += 2) {
            byte[] pair = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(sent[i]).putFloat(sent[i + 1]).array();
            if (tapped.contains(new String(pair, java.nio.charset.StandardCharsets.ISO_8859_1))) {
                found++;
            }
        }
        return found;
    }
}
