package ai.emaspark.auth;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encryption of the blocks one side sends over one connection (or opens on receipt): AES-256-GCM
 * under the direction's own key, derived from the run's secret and the handshake's nonces, with the
 * block's sequence number as the nonce, so a block is secret, and cannot be altered, dropped,
 * reordered or replayed within the connection, nor moved to another one. Blocks are sealed and
 * opened in place: the ciphertext takes the plaintext's bytes and {@link #TAG_BYTES} follow it.
 */
public final class FrameCipher {
    public static final int TAG_BYTES = 16;
    private static final String AES_GCM = "AES/GCM/NoPadding";

    private final SecretKeySpec key;
    private final Cipher cipher;
    private final int mode;
    private long sequence;

    private FrameCipher(byte[] key, int mode) {
        this.key = new SecretKeySpec(key, "AES");
        this.mode = mode;
        try {
            this.cipher = Cipher.getInstance(AES_GCM);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM is part of every Java runtime", e);
        }
    }

    static FrameCipher sealing(byte[] key) {
        return new FrameCipher(key, Cipher.ENCRYPT_MODE);
    }

    static FrameCipher opening(byte[] key) {
        return new FrameCipher(key, Cipher.DECRYPT_MODE);
    }

    /** Encrypts {@code buffer[0, length)} in place and puts the tag after it; returns {@code length + TAG_BYTES}. */
    public int seal(ByteBuffer buffer, int length) {
        check(Cipher.ENCRYPT_MODE);
        try {
            start();
            ByteBuffer plain = buffer.duplicate().position(0).limit(length);
            ByteBuffer sealed = buffer.duplicate().position(0).limit(length + TAG_BYTES);
            return cipher.doFinal(plain, sealed);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM failed to encrypt", e);
        }
    }

    /** {@link #seal(ByteBuffer, int)} of {@code bytes[0, length)}; {@code bytes} has room for the tag. */
    public int seal(byte[] bytes, int length) {
        return seal(ByteBuffer.wrap(bytes), length);
    }

    /**
     * Decrypts in place the block of {@code length} bytes of plaintext that came as {@code buffer[0, length + TAG_BYTES)};
     * fails, leaving nothing usable, if it is not the next block the peer sealed under this connection's key.
     */
    public void open(ByteBuffer buffer, int length, String what) throws AuthException {
        check(Cipher.DECRYPT_MODE);
        try {
            start();
            ByteBuffer sealed = buffer.duplicate().position(0).limit(length + TAG_BYTES);
            ByteBuffer plain = buffer.duplicate().position(0).limit(length);
            cipher.doFinal(sealed, plain);
        } catch (AEADBadTagException e) {
            throw new AuthException(what + " failed its AES-GCM check (altered, replayed or not from this run)");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM failed to decrypt", e);
        }
    }

    public void open(byte[] bytes, int length, String what) throws AuthException {
        open(ByteBuffer.wrap(bytes), length, what);
    }

    /** The next block's nonce: 4 zero bytes, then the sequence number; never used twice under one key. */
    private void start() throws GeneralSecurityException {
        long n = sequence++;
        byte[] nonce = ByteBuffer.allocate(12).putInt(0).putLong(n).array();
        cipher.init(mode, key, new GCMParameterSpec(8 * TAG_BYTES, nonce));
    }

    private void check(int wanted) {
        if (mode != wanted) {
            throw new IllegalStateException(mode == Cipher.ENCRYPT_MODE ? "this cipher seals, it does not open" : "this cipher opens, it does not seal");
        }
    }
}
