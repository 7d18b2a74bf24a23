package ai.emaspark.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** AES-GCM blocks of one connection: secret, in place, and refused when altered, replayed, reordered or of another key. */
class FrameCipherTest {
    private static final byte[] KEY = new byte[32];
    private static final int LENGTH = 1 << 20;

    static {
        new Random(1).nextBytes(KEY);
    }

    private static byte[] plaintext(long seed) {
        byte[] bytes = new byte[LENGTH + FrameCipher.TAG_BYTES];
        new Random(seed).nextBytes(bytes);
        Arrays.fill(bytes, LENGTH, bytes.length, (byte) 0);
        return bytes;
    }

    @Test
    void blocksOpenInOrderAndNothingElseDoes() throws Exception {
        FrameCipher seal = FrameCipher.sealing(KEY);
        FrameCipher open = FrameCipher.opening(KEY);
        byte[] first = plaintext(2);
        byte[] second = plaintext(3);
        byte[] plainFirst = first.clone();
        assertEquals(LENGTH + FrameCipher.TAG_BYTES, seal.seal(first, LENGTH));
        assertFalse(Arrays.equals(Arrays.copyOf(plainFirst, LENGTH), Arrays.copyOf(first, LENGTH)), "encrypted in place");
        seal.seal(second, LENGTH);

        byte[] sealedSecond = second.clone();
        AuthException reordered = assertThrows(AuthException.class, () -> FrameCipher.opening(KEY).open(sealedSecond, LENGTH, "block"));
        assertTrue(reordered.getMessage().startsWith("block failed its AES-GCM check"), reordered.getMessage());

        byte[] altered = first.clone();
        altered[12345] ^= 1;
        assertThrows(AuthException.class, () -> FrameCipher.opening(KEY).open(altered, LENGTH, "block"));
        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        assertThrows(AuthException.class, () -> FrameCipher.opening(otherKey).open(first.clone(), LENGTH, "block"));

        byte[] replay = first.clone();
        open.open(first, LENGTH, "block");
        assertArrayEquals(Arrays.copyOf(plainFirst, LENGTH), Arrays.copyOf(first, LENGTH), "opened in place");
        assertThrows(AuthException.class, () -> open.open(replay, LENGTH, "block"), "a replayed block is not the next one");
    }

    @Test
    void directBuffersSealAndOpenInPlace() throws Exception {
        ByteBuffer buffer = ByteBuffer.allocateDirect(4096 + FrameCipher.TAG_BYTES);
        for (int i = 0; i < 4096; i++) {
            buffer.put(i, (byte) i);
        }
        FrameCipher.sealing(KEY).seal(buffer, 4096);
        assertTrue(buffer.get(1) != 1 || buffer.get(2) != 2 || buffer.get(3) != 3, "encrypted");
        FrameCipher.opening(KEY).open(buffer, 4096, "block");
        for (int i = 0; i < 4096; i++) {
            assertEquals((byte) i, buffer.get(i));
        }
    }

    @Test
    void aSessionsCiphersPairAcrossTheConnection() throws Exception {
        RunSecret secret = RunSecret.generate();
        Handshake.Server server = Handshake.server(secret, "test");
        Handshake.Client client = Handshake.client(secret, "test");
        client.check(server.check(client.answer(server.hello())));
        byte[] block = plaintext(4);
        byte[] plain = block.clone();
        client.session().seal().seal(block, LENGTH);
        assertThrows(AuthException.class, () -> client.session().open().open(block.clone(), LENGTH, "block"),
                "each direction has its own key");
        server.session().open().open(block, LENGTH, "block");
        assertArrayEquals(Arrays.copyOf(plain, LENGTH), Arrays.copyOf(block, LENGTH));
    }
}
