package ai.emaspark.auth;

import org.slf4j.Logger;

/**
 * Logs refused connections for operators without letting a flood of them flood the log: the first
 * {@link #PER_MINUTE} of each minute are logged one by one, the rest are counted and summed up.
 */
public final class RefusalLog {
    static final int PER_MINUTE = 10;

    private final Logger log;
    private final String service;
    private long minute = -1;
    private int inMinute;
    private int unlogged;

    public RefusalLog(Logger log, String service) {
        this.log = log;
        this.service = service;
    }

    public synchronized void refuse(Object peer, String reason) {
        long now = System.currentTimeMillis() / 60_000;
        if (now != minute) {
            if (unlogged > 0) {
                log.warn("{}: refused {} more connection(s) in the last minute", service, unlogged);
            }
            minute = now;
            inMinute = 0;
            unlogged = 0;
        }
        if (++inMinute <= PER_MINUTE) {
            log.warn("{}: refused a connection from {}: {}", service, peer, reason);
        } else {
            unlogged++;
        }
    }
}
