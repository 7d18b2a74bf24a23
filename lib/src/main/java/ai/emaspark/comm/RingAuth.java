package ai.emaspark.comm;

import ai.emaspark.auth.RunSecret;

/**
 * How a ring authenticates its ranks and protects its frames.
 *
 * @param secret the run's secret every rank proves it knows when it connects
 * @param context what this ring is for, e.g. "epoch 3 attempt 1": a rank of another ring is refused
 * @param blockMacs whether every block of floats carries a MAC too (call headers always do); off, an
 *     attacker on the path between two ranks could alter data in an established connection
 * @param encrypt whether every block of floats is encrypted (AES-256-GCM, which authenticates it too,
 *     so block MACs are not needed on top)
 */
public record RingAuth(RunSecret secret, String context, boolean blockMacs, boolean encrypt) {
    /** What a rank proves it connects for: the ring's context and, when encrypting, the mode, so a plain peer is refused. */
    String handshakeContext() {
        return encrypt ? context + " aes-gcm" : context;
    }

    /** What protects a block of floats, for logs. */
    public String blocks() {
        return encrypt ? "encrypted (AES-256-GCM)" : blockMacs ? "authenticated (HMAC-SHA256)" : "unprotected (headers authenticated)";
    }
}
