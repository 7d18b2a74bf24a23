package ai.emaspark.comm;

import static ai.emaspark.comm.RingConnector.MAX_PENDING;
import static ai.emaspark.comm.RingConnector.MAX_PENDING_PER_HOST;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.emaspark.auth.Strangers;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** The listener's slots: strangers share theirs, the peer's address keeps its own. */
class AdmissionTest {
    private static final InetAddress PEER = Strangers.host(1);

    @Test
    void strangersElsewhereNeverTakeThePeersSlots() {
        Admission admission = new Admission(PEER);
        for (int h = 2; h < 2 + MAX_PENDING / MAX_PENDING_PER_HOST; h++) {
            for (int i = 0; i < MAX_PENDING_PER_HOST; i++) {
                assertNull(admission.admit(Strangers.host(h)));
            }
        }
        assertNotNull(admission.admit(Strangers.host(100)), "the strangers' slots are full");
        for (int i = 0; i < Admission.PEER_SLOTS; i++) {
            assertNull(admission.admit(PEER), "the peer's address has slots of its own");
        }
    }

    @Test
    void thePeersAddressHasOneSlotMoreThanAnyHost() {
        Admission admission = new Admission(PEER);
        for (int i = 0; i < MAX_PENDING_PER_HOST; i++) {
            assertNull(admission.admit(PEER), "strangers at the peer's address");
            assertNull(admission.admit(Strangers.host(2)));
        }
        assertNotNull(admission.admit(Strangers.host(2)));
        assertNull(admission.admit(PEER), "the peer still gets in");
        assertNotNull(admission.admit(PEER));
        admission.release(PEER);
        assertNull(admission.admit(PEER), "a slot freed is a slot again");
    }

    @Test
    void anUnknownPeerIsAnAddressLikeAnyOther() {
        Admission admission = Admission.expecting("no-such-host.invalid:1234");
        for (int i = 0; i < MAX_PENDING_PER_HOST; i++) {
            assertNull(admission.admit(PEER));
        }
        assertNotNull(admission.admit(PEER));
    }
}
