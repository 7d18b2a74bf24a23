package ai.emaspark.ema;

import static ai.emaspark.ema.EmaServiceTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.auth.AuthException;
import ai.emaspark.auth.Handshake;
import ai.emaspark.auth.RunSecret;
import ai.emaspark.auth.Strangers;
import ai.emaspark.model.ModelState;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Strangers on the network against the driver's EMA service, over real sockets, while rank 0 sends
 * its snapshots: each is refused, the service keeps serving, the driver's heap does not grow, and the
 * EMA comes out bit for bit as without them.
 */
class EmaServiceStrangersTest {
    private static final RunSecret SECRET = RunSecret.generate();
    private static final int SNAPSHOTS = 8;
    /** Long enough for a real client on a busy 2-core machine (the proxied and the insider's have no retry). */
    private static final Duration HANDSHAKE = Duration.ofSeconds(5);

    @Test
    void strangersAreRefusedAndTheEmaIsUnchanged() throws Exception {
        ModelState start = random(1);
        ModelState expected = start.copy();
        List<ModelState> snapshots = new ArrayList<>();
        for (int i = 0; i < SNAPSHOTS; i++) {
            snapshots.add(random(100 + i));
            EmaRule.update(expected, snapshots.get(i), 0.25);
        }
        try (EmaService service = new EmaService("127.0.0.1", 0, SECRET, false, null, HANDSHAKE)) {
            int port = service.port();
            service.beginEpoch(2, EmaBank.of(start), 0.25);
            // A recorded session of an earlier attempt, to replay later.
            service.beginAttempt(0);
            byte[] recorded;
            try (Strangers.RecordingProxy proxy = new Strangers.RecordingProxy(port)) {
                try (EmaSnapshotSender old = new EmaSnapshotSender("127.0.0.1", proxy.port(), SECRET, false, 2, 0)) {
                    old.submit(0, random(666));
                    old.flush();
                }
                recorded = proxy.recorded();
            }
            service.beginAttempt(1); // the attempt the driver launched now

            long heapBefore = usedHeap();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<String>> attacks = new ArrayList<>();
            attacks.add(pool.submit(() -> garbage(port)));
            attacks.add(pool.submit(() -> wrongSecret(port)));
            attacks.add(pool.submit(() -> replay(port, recorded)));
            attacks.add(pool.submit(() -> slowLoris(port)));
            attacks.add(pool.submit(() -> hugeAnswer(port)));
            for (int i = 0; i < 3; i++) {
                attacks.add(pool.submit(() -> flood(port)));
            }
            try (EmaSnapshotSender sender = new EmaSnapshotSender("127.0.0.1", port, SECRET, false, 2, 1)) {
                for (int i = 0; i < SNAPSHOTS; i++) {
                    sender.submit(4 * i, snapshots.get(i));
                }
                assertEquals(SNAPSHOTS, sender.flush());
            }
            for (Future<String> attack : attacks) {
                String outcome = attack.get();
                assertTrue(outcome.startsWith("refused"), outcome);
            }
            pool.shutdown();
            // An insider with the secret but a corrupt header: refused before anything is allocated.
            for (int[] sizes : new int[][] {{-1, 1}, {Integer.MAX_VALUE, 1}, {3, Integer.MAX_VALUE}, {3, -5}}) {
                assertEquals(-1, insiderHeader(port, sizes[0], sizes[1]), "sizes " + sizes[0] + ", " + sizes[1]);
            }
            assertTrue(usedHeap() - heapBefore < 64L << 20,
                    "heap grew by " + ((usedHeap() - heapBefore) >> 20) + " MB under attack");

            ModelState ema = service.finishEpoch(2, 1, SNAPSHOTS).pycls();
            assertArrayEquals(expected.floats(), ema.floats(), "the EMA is the one without strangers");
            assertArrayEquals(expected.longs(), ema.longs());

            // Still serving: the next attempt's rank 0 gets through.
            service.beginEpoch(3, EmaBank.of(ema), 0.25);
            service.beginAttempt(0);
            try (EmaSnapshotSender next = new EmaSnapshotSender("127.0.0.1", port, SECRET, false, 3, 0)) {
                next.submit(0, random(7));
                assertEquals(1, next.flush());
            }
        }
    }

    private static String garbage(int port) throws IOException {
        byte[] answer = Strangers.send(Strangers.host(3), port, Strangers.garbage(5000, 42), 5000);
        return answer.length <= Handshake.HELLO_BYTES + Handshake.PROOF_BYTES ? "refused garbage" : "answered garbage";
    }

    private static String wrongSecret(int port) {
        IOException e = assertThrows(IOException.class,
                () -> new EmaSnapshotSender("127.0.0.1", port, RunSecret.generate(), false, 2, 1).close());
        return e.getCause() instanceof AuthException ? "refused a wrong secret" : "failed otherwise: " + e;
    }

    /** The bytes of a real session of attempt 0, sent again: the server's fresh nonce makes the answer worthless. */
    private static String replay(int port, byte[] recorded) throws IOException {
        byte[] answer = Strangers.send(Strangers.host(4), port, recorded, 5000);
        // hello, then the refusal instead of a proof, then the end: no acknowledgement of any snapshot
        return answer.length == Handshake.HELLO_BYTES + Handshake.PROOF_BYTES && allZero(answer, Handshake.HELLO_BYTES)
                ? "refused a replay" : "replay answered with " + answer.length + " bytes";
    }

    private static String slowLoris(int port) throws IOException, InterruptedException {
        long ms = Strangers.slowLoris(Strangers.host(5), port, 500, 30_000);
        return ms < HANDSHAKE.toMillis() + 3000 ? "refused a slow client after " + ms + " ms" : "kept a slow client " + ms + " ms";
    }

    /** A valid-looking start with absurd numbers where the answer should be. */
    private static String hugeAnswer(int port) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(Handshake.ANSWER_BYTES + 24);
        bytes.putInt(0x454d5341).putInt(1);
        while (bytes.hasRemaining()) {
            bytes.putInt(Integer.MAX_VALUE);
        }
        byte[] answer = Strangers.send(Strangers.host(6), port, bytes.array(), 5000);
        return answer.length <= Handshake.HELLO_BYTES + Handshake.PROOF_BYTES ? "refused huge numbers" : "answered huge numbers";
    }

    /**
     * Many connections at once from one host ({@link Strangers#ELSEWHERE}): all but a couple are turned
     * away at once. The other strangers come from hosts of their own, so that what each one meets is
     * its own refusal, not the flood's crowding.
     */
    private static String flood(int port) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                sockets.add(Strangers.connect(port));
            }
        } finally {
            for (Socket socket : sockets) {
                socket.close();
            }
        }
        return "refused a flood";
    }

    /** Authenticates with the secret, then sends a header with the given sizes; returns the service's acknowledgement. */
    private static int insiderHeader(int port, int floats, int longs) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            Handshake.Client client = Handshake.client(SECRET, SnapshotWire.context(2, 1, false));
            SnapshotWire.clientHandshake(in, out, client);
            Handshake.Session session = client.session();
            SnapshotWire.writeHeader(out, new SnapshotWire.Header(2, 1, 0, floats, longs), session.send());
            out.flush();
            return SnapshotWire.readAck(in, session.receive());
        }
    }

    private static boolean allZero(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static long usedHeap() {
        Runtime runtime = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return runtime.totalMemory() - runtime.freeMemory();
    }
}
