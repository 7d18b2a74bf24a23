package ai.emaspark.ema;

import static ai.emaspark.ema.EmaServiceTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.emaspark.auth.RunSecret;
import ai.emaspark.auth.Strangers;
import ai.emaspark.model.ModelState;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Encrypted EMA snapshots (spark.network.crypto.enabled): the same EMA, nothing a wiretap can read, no mixing of modes. */
class EmaEncryptionTest {
    private static final RunSecret SECRET = RunSecret.generate();

    @Test
    void encryptedSnapshotsGiveTheSameEmaAndAWiretapReadsNoWeight() throws Exception {
        // Control: the same floats written unsealed (as a dump file holds them) are found by the search.
        java.io.ByteArrayOutputStream plain = new java.io.ByteArrayOutputStream();
        SnapshotWire.writeFloats(new java.io.DataOutputStream(plain), random(20).floats(), null, null);
        assertTrue(found(plain.toByteArray()) > 0, "control: unsealed floats are on the wire");
        assertEquals(0, tappedWeights(true), "encrypted: not one 8-byte run of the weights on the wire");
        assertEquals(0, tappedWeights(false), "without spark's crypto too: payloads are always sealed (GCM costs less than HMAC)");
    }

    /** Sends 3 snapshots through a recording proxy; checks the EMA; returns how many of 1000 weight pairs the proxy saw. */
    private static int tappedWeights(boolean encrypt) throws Exception {
        ModelState start = random(1);
        ModelState expected = start.copy();
        byte[] wire;
        try (EmaService service = new EmaService("127.0.0.1", 0, SECRET, encrypt, null)) {
            service.beginEpoch(5, EmaBank.of(start), 0.2);
            service.beginAttempt(0);
            try (Strangers.RecordingProxy proxy = new Strangers.RecordingProxy(service.port())) {
                try (EmaSnapshotSender sender = new EmaSnapshotSender("127.0.0.1", proxy.port(), SECRET, encrypt, 5, 0)) {
                    for (int i = 0; i < 3; i++) {
                        sender.submit(i, random(20 + i));
                        EmaRule.update(expected, random(20 + i), 0.2);
                    }
                    assertEquals(3, sender.flush());
                }
                wire = proxy.recorded();
            }
            ModelState ema = service.finishEpoch(5, 0, 3).pycls();
            assertArrayEquals(expected.floats(), ema.floats());
            assertArrayEquals(expected.longs(), ema.longs());
        }
        return found(wire);
    }

    /** How many of the first 1000 pairs of the first snapshot's floats appear in {@code wire}. */
    private static int found(byte[] wire) {
        float[] sent = random(20).floats();
        String tapped = new String(wire, StandardCharsets.ISO_8859_1);
        int found = 0;
        for (int i = 0; i < 2000; i += 2) {
            byte[] pair = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(sent[i]).putFloat(sent[i + 1]).array();
            if (tapped.contains(new String(pair, StandardCharsets.ISO_8859_1))) {
                found++;
            }
        }
        return found;
    }

    @Test
    void anEncryptingSideAndAPlainOneDoNotConnect() throws Exception {
        try (EmaService service = new EmaService("127.0.0.1", 0, SECRET, true, null)) {
            service.beginEpoch(0, EmaBank.of(random(1)), 0.5);
            service.beginAttempt(0);
            IOException e = assertThrows(IOException.class,
                    () -> new EmaSnapshotSender("127.0.0.1", service.port(), SECRET, false, 0, 0).close());
            assertTrue(e.getMessage().contains("is not this run's"), e.getMessage());
        }
    }
}
