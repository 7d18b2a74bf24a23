package ai.emaspark.spark;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Collections;
import java.util.List;
import org.apache.spark.BarrierTaskInfo;
import org.apache.spark.BarrierTaskContext;

/**
 * Where a rank's ring socket listens and the address its peers are told. By default the address
 * Spark knows the rank's executor by (its barrier task info: the address the executor reached the
 * driver from), never {@code InetAddress.getLocalHost()}, which is 127.0.1.1 on stock Debian and
 * Ubuntu hosts. With {@code spark.emaspark.ring.interface} the address of that network interface,
 * the same convention as GLOO_SOCKET_IFNAME and NCCL_SOCKET_IFNAME for hosts with several networks.
 *
 * @param advertisedHost what the other ranks connect to
 * @param bindHost what the listening socket binds: the advertised address when it is one of this
 *     host's, else every interface (the executor is behind NAT)
 */
record RingEndpoint(String advertisedHost, String bindHost) {
    static final String WILDCARD = "0.0.0.0";

    static RingEndpoint of(BarrierTaskContext context, String interfaceName) throws IOException {
        if (interfaceName != null) {
            return ofInterface(interfaceName);
        }
        BarrierTaskInfo[] infos = context.getTaskInfos(); // ordered by partition, i.e. by rank
        return ofSparkAddress(infos[context.partitionId()].address());
    }

    /** From a barrier task info's "host:port" (the port is the executor's outgoing one, not ours). */
    static RingEndpoint ofSparkAddress(String address) throws IOException {
        int colon = address.lastIndexOf(':');
        String host = colon > 0 ? address.substring(0, colon) : address;
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new RingEndpoint(host, isLocal(host) ? host : WILDCARD);
    }

    static RingEndpoint ofInterface(String name) throws IOException {
        NetworkInterface nic = NetworkInterface.getByName(name);
        if (nic == null) {
            throw new IOException(ClusterSettings.RING_INTERFACE + " is " + name + " but " + hostName()
                    + " has no such network interface (it has " + interfaceNames() + ")");
        }
        List<InetAddress> addresses = Collections.list(nic.getInetAddresses());
        InetAddress chosen = addresses.stream().filter(a -> a instanceof Inet4Address).findFirst()
                .orElse(addresses.isEmpty() ? null : addresses.get(0));
        if (chosen == null) {
            throw new IOException(ClusterSettings.RING_INTERFACE + " is " + name + " but it has no address on " + hostName());
        }
        String host = chosen.getHostAddress().replaceFirst("%.*$", ""); // no IPv6 scope suffix
        return new RingEndpoint(host, host);
    }

    /** "host:port" for the rendezvous, IPv6 in brackets. */
    String advertise(int port) {
        return (advertisedHost.contains(":") ? "[" + advertisedHost + "]" : advertisedHost) + ":" + port;
    }

    private static boolean isLocal(String host) {
        try {
            InetAddress address = InetAddress.getByName(host);
            return address.isLoopbackAddress() || NetworkInterface.getByInetAddress(address) != null;
        } catch (IOException e) {
            return false;
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "this host";
        }
    }

    private static String interfaceNames() throws SocketException {
        return String.join(", ", Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                .map(NetworkInterface::getName).sorted().toList());
    }
}
