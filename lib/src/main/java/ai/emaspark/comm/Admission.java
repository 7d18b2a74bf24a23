package ai.emaspark.comm;

import static ai.emaspark.comm.RingConnector.MAX_PENDING;
import static ai.emaspark.comm.RingConnector.MAX_PENDING_PER_HOST;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * Which accepted connections a rank's listener lets authenticate at once, each on a thread of its own.
 * Strangers share {@link RingConnector#MAX_PENDING} slots, {@link RingConnector#MAX_PENDING_PER_HOST}
 * per address, so one that stalls delays nobody and a flood cannot take every thread.
 *
 * <p>The expected peer's address (the previous rank's, from the rendezvous) has {@link #PEER_SLOTS} of
 * its own, one more than any other address may hold: strangers elsewhere never crowd the peer out, and
 * the strangers a host may keep stalling at its own address (the peer's host, or the NAT in front of it)
 * leave one free. Only more of them delay it, and only until one times out after
 * {@link RingConnector#STRANGER_TIMEOUT}: a peer turned away before the hello comes back until its deadline.
 */
final class Admission {
    static final int PEER_SLOTS = MAX_PENDING_PER_HOST + 1;

    /** Null when the peer's address does not resolve: then it is an address like any other. */
    private final InetAddress peer;
    private final Map<InetAddress, Integer> pending = new HashMap<>();
    private int strangers;

    Admission(InetAddress peer) {
        this.peer = peer;
    }

    /** For the rank listening for the one at {@code peerAddress} ("host:port"). */
    static Admission expecting(String peerAddress) {
        try {
            return new Admission(RingConnector.parse(peerAddress).getAddress());
        } catch (IllegalArgumentException malformed) {
            return new Admission(null); // the peer could not dial us either; strangers are still kept in check
        }
    }

    /** Takes a slot for a connection from {@code host}; returns why there is none, or null. */
    synchronized String admit(InetAddress host) {
        int fromHost = pending.getOrDefault(host, 0);
        boolean fromPeer = host.equals(peer);
        if (fromPeer && fromHost >= PEER_SLOTS) {
            return "already " + PEER_SLOTS + " connections authenticating from " + host.getHostAddress() + ", the peer's address";
        }
        if (!fromPeer && strangers >= MAX_PENDING) {
            return "already " + MAX_PENDING + " connections authenticating";
        }
        if (!fromPeer && fromHost >= MAX_PENDING_PER_HOST) {
            return "already " + MAX_PENDING_PER_HOST + " connections authenticating from " + host.getHostAddress();
        }
        pending.put(host, fromHost + 1);
        strangers += fromPeer ? 0 : 1;
        return null;
    }

    /** The connection from {@code host} authenticated or was dropped: its slot is free. */
    synchronized void release(InetAddress host) {
        pending.computeIfPresent(host, (h, n) -> n == 1 ? null : n - 1);
        strangers -= host.equals(peer) ? 0 : 1;
    }
}
