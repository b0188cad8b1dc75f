import CFastPathShim
import CNetlink

/// Makes the kernel resolve a neighbour (ARP for IPv4, ND for IPv6) without
/// fastpath sending packets itself, so that a gateway's entry exists before
/// the fast path needs it (`bpf_fib_lookup` returns NO_NEIGH otherwise).
///
/// It sends what `ip neigh replace ADDR dev DEV use nud none` sends:
/// RTM_NEWNEIGH with NLM_F_CREATE|NLM_F_REPLACE, flag NTF_USE and state
/// NUD_NONE. With NTF_USE the kernel does not update the entry but calls
/// `neigh_event_send` on it, as if a packet were queued: a missing entry is
/// created INCOMPLETE and solicited, a FAILED one is retried, a STALE one is
/// re-validated (DELAY, PROBE), a REACHABLE or PERMANENT one is untouched.
/// State NUD_NONE (not libnl's default PERMANENT) keeps a created entry
/// subject to the neighbour table's garbage collection, like one made by
/// traffic. Measured on veth (6.18): a live host is REACHABLE before
/// `probe` returns; an absent one goes INCOMPLETE, then FAILED after ~3 s.
/// The outcome arrives later as a `.neighbour` event on `RouteNetlinkMonitor`.
public final class NeighbourProber {
    private let socket: NetlinkSocket

    /// Opens a (blocking) rtnetlink socket in the calling thread's namespace.
    public init() throws(FastPathError) {
        socket = try NetlinkSocket(protocol: NETLINK_ROUTE, purpose: "neighbour probes")
    }

    /// Starts resolution of `address` (4 or 16 bytes) on interface `ifindex`.
    /// Returns once the kernel accepted the request, not when it resolved.
    public func probe(ifindex: UInt32, address: [UInt8]) throws(FastPathError) {
        let family: Int32
        switch address.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default:
            throw FastPathError("probe neighbour: address must have 4 or 16 bytes, not \(address.count)",
                                subject: interfaceLabel(ifindex))
        }
        guard let neighbour = rtnl_neigh_alloc() else {
            throw FastPathError("allocate neighbour", code: .netlink(NLE_NOMEM))
        }
        defer { rtnl_neigh_put(neighbour) }
        var copy = address
        let destination = copy.withUnsafeMutableBytes { nl_addr_build(family, $0.baseAddress, $0.count) }
        guard let destination else { throw FastPathError("allocate neighbour address", code: .netlink(NLE_NOMEM)) }
        defer { nl_addr_put(destination) }

        rtnl_neigh_set_ifindex(neighbour, Int32(bitPattern: ifindex))
        rtnl_neigh_set_family(neighbour, family)
        try netlinkCheck(rtnl_neigh_set_dst(neighbour, destination), "set neighbour address")
        rtnl_neigh_set_state(neighbour, 0) // NUD_NONE
        rtnl_neigh_set_flags(neighbour, UInt32(NTF_USE))
        let rc = rtnl_neigh_add(socket.handle, neighbour, NLM_F_CREATE | NLM_F_REPLACE)
        try netlinkCheck(rc, "probe neighbour " + NeighbourProber.format(address), subject: interfaceLabel(ifindex))
    }

    /// Probes the gateway of a route's next hop; nothing for a connected hop.
    public func probe(_ hop: RouteNextHop) throws(FastPathError) {
        guard !hop.gateway.isEmpty else { return }
        try probe(ifindex: hop.ifindex, address: hop.gateway)
    }

    /// "192.0.2.1" or "2001:db8:0:0:0:0:0:1" (uncompressed) for messages.
    static func format(_ address: [UInt8]) -> String {
        if address.count == 4 {
            var parts: [String] = []
            for byte in address { parts.append(String(byte)) }
            return parts.joined(separator: ".")
        }
        var groups: [String] = []
        var index = 0
        while index + 1 < address.count {
            groups.append(String(UInt16(address[index]) << 8 | UInt16(address[index + 1]), radix: 16))
            index += 2
        }
        return groups.joined(separator: ":")
    }
}
