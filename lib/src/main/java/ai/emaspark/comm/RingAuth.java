package ai.emaspark.comm;

import ai.emaspark.auth.RunSecret;

/**
 * How a ring authenticates its ranks and frames.
 *
 * @param secret the run's secret every rank proves it knows when it connects
 * @param context what this ring is for, e.g. "epoch 3 attempt 1": a rank of another ring is refused
 * @param blockMacs whether every block of floats carries a MAC too (call headers always do); off, an
 *     attacker on the path between two ranks could alter data in an established connection
 */
public record RingAuth(RunSecret secret, String context, boolean blockMacs) {}
