package ai.emaspark.comm;

import ai.emaspark.auth.RunSecret;

/**
 * How a ring authenticates its ranks and protects its frames.
 *
 * <p>Blocks are authenticated by sealing them with AES-256-GCM, so block MACs and encryption are one
 * mode on the wire: on the JDK's hardware-accelerated GCM (AES-NI, carry-less multiply, AVX-512 where
 * the CPU has it) sealing a block costs less than its GMAC alone or an HMAC-SHA256 (about 3.5, 2.5 and
 * 1.6 GB/s a core here), so authenticated gradients come encrypted for free.
 *
 * @param secret the run's secret every rank proves it knows when it connects
 * @param context what this ring is for, e.g. "epoch 3 attempt 1": a rank of another ring is refused
 * @param blockMacs whether every block of floats is authenticated too (call headers always are); off,
 *     an attacker on the path between two ranks could alter data in an established connection
 * @param encrypt whether every block of floats must be secret (spark.network.crypto.enabled): the same
 *     AES-256-GCM sealing
 */
public record RingAuth(RunSecret secret, String context, boolean blockMacs, boolean encrypt) {
    /** Whether blocks of floats are sealed (authenticated and encrypted) with AES-256-GCM. */
    boolean sealsBlocks() {
        return blockMacs || encrypt;
    }

    /** What a rank proves it connects for: the ring's context and, when sealing, the mode, so a plain peer is refused. */
    String handshakeContext() {
        return sealsBlocks() ? context + " aes-gcm" : context;
    }

    /** What protects a block of floats, for logs. */
    public String blocks() {
        return sealsBlocks() ? "authenticated and encrypted (AES-256-GCM)" : "unprotected (headers authenticated)";
    }
}
