package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Where a rank's ring socket listens and what its peers are told. */
class RingEndpointTest {
    @Test
    void sparksAddressForTheExecutorIsAdvertisedNotItsPort() throws IOException {
        RingEndpoint local = RingEndpoint.ofSparkAddress("127.0.0.1:51234");
        assertEquals("127.0.0.1", local.advertisedHost());
        assertEquals("127.0.0.1", local.bindHost(), "a local address is bound as it is");
        assertEquals("127.0.0.1:40000", local.advertise(40000));
    }

    @Test
    void anAddressThatIsNotThisHostsIsBoundOnEveryInterface() throws IOException {
        // 192.0.2.0/24 is TEST-NET-1: never a local address. Behind NAT Spark sees such an address.
        RingEndpoint nat = RingEndpoint.ofSparkAddress("192.0.2.77:51234");
        assertEquals("192.0.2.77", nat.advertisedHost());
        assertEquals(RingEndpoint.WILDCARD, nat.bindHost());
    }

    @Test
    void ipv6AddressesKeepTheirBrackets() throws IOException {
        RingEndpoint v6 = RingEndpoint.ofSparkAddress("[::1]:51234");
        assertEquals("::1", v6.advertisedHost());
        assertEquals("[::1]:40000", v6.advertise(40000));
    }

    @Test
    void aNamedInterfaceGivesItsAddress() throws IOException {
        RingEndpoint lo = RingEndpoint.ofInterface("lo");
        assertEquals("127.0.0.1", lo.advertisedHost());
        assertEquals("127.0.0.1", lo.bindHost());
        IOException missing = assertThrows(IOException.class, () -> RingEndpoint.ofInterface("nosuch0"));
        assertTrue(missing.getMessage().startsWith("spark.emaspark.ring.interface is nosuch0 but "), missing.getMessage());
        assertTrue(missing.getMessage().contains("lo"), "lists the interfaces there are: " + missing.getMessage());
    }
}
