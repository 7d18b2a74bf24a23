package ai.emaspark.auth;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The secret of one training run: every connection to the driver's EMA service and between ring
 * ranks proves it knows this key (see {@link Handshake}), and every frame carries a MAC derived
 * from it. 256 random bits, or derived from Spark's own authentication secret. Never printed.
 */
public final class RunSecret implements Serializable {
    private static final long serialVersionUID = 1L;
    static final String HMAC = "HmacSHA256";
    private static final int KEY_BYTES = 32;

    private final byte[] key;

    private RunSecret(byte[] key) {
        this.key = key.clone();
    }

    /** A fresh random secret (the driver's, when Spark authentication is off). */
    public static RunSecret generate() {
        byte[] key = new byte[KEY_BYTES];
        new SecureRandom().nextBytes(key);
        return new RunSecret(key);
    }

    /** HMAC(sparkSecret, "emaspark run secret" | appId): the same on every JVM of the application. */
    public static RunSecret derive(byte[] sparkSecret, String appId) {
        return new RunSecret(hmac(sparkSecret, "emaspark run secret", appId.getBytes(StandardCharsets.UTF_8)));
    }

    /** HMAC-SHA256 of {@code label} and {@code parts}, each length-prefixed so no two inputs collide. */
    byte[] mac(String label, byte[]... parts) {
        return hmac(key, label, parts);
    }

    static byte[] hmac(byte[] key, String label, byte[]... parts) {
        Mac mac = newMac(key);
        update(mac, label.getBytes(StandardCharsets.UTF_8));
        for (byte[] part : parts) {
            update(mac, part);
        }
        return mac.doFinal();
    }

    static Mac newMac(byte[] key) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(key, HMAC));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }

    private static void update(Mac mac, byte[] part) {
        int n = part.length;
        mac.update(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
        mac.update(part);
    }

    @Override
    public String toString() {
        return "RunSecret[not shown]";
    }
}
