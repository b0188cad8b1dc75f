// Conntrack entries as the daemon sees them: plain values copied out of
// ctnetlink messages, no pointers. Addresses are raw network-order bytes
// (4 for IPv4, 16 for IPv6); ports are host order; families are 4 or 6.

/// One direction of a conntrack entry: what a packet of that direction looks
/// like on the wire. The reply tuple of a NATed flow holds the translation:
/// after masquerade, `reply.destination` is the router's address.
public struct ConntrackTuple: Hashable, Sendable {
    /// 4 or 6.
    public var family: UInt8
    /// The IP protocol: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 132 SCTP, …
    public var proto: UInt8
    public var source: [UInt8]
    public var destination: [UInt8]
    /// Host order. For ICMP/ICMPv6: the echo identifier.
    public var sourcePort: UInt16
    /// Host order. For ICMP/ICMPv6: `type << 8 | code`.
    public var destinationPort: UInt16

    public init(family: UInt8, proto: UInt8, source: [UInt8], destination: [UInt8],
                sourcePort: UInt16, destinationPort: UInt16) {
        self.family = family
        self.proto = proto
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }

    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let icmp: UInt8 = 1
    public static let icmpv6: UInt8 = 58

    /// True for ICMP and ICMPv6, whose "ports" are id and type/code.
    public var isICMP: Bool {
        (family == 4 && proto == ConntrackTuple.icmp) || (family == 6 && proto == ConntrackTuple.icmpv6)
    }

    /// The tuple a packet going the other way would have (addresses and
    /// ports swapped). Without NAT it equals the entry's reply tuple.
    public var inverted: ConntrackTuple {
        ConntrackTuple(family: family, proto: proto, source: destination, destination: source,
                       sourcePort: destinationPort, destinationPort: sourcePort)
    }
}

/// A conntrack entry (`IPCTNL_MSG_CT_NEW` from a dump or an event).
public struct ConntrackEntry: Hashable, Sendable {
    /// The direction of the packet that created the entry.
    public var original: ConntrackTuple
    /// The direction of the answers, as they arrive (post-NAT addresses).
    public var reply: ConntrackTuple
    /// `IPS_*` bits (`status`).
    public var status: UInt32
    /// `TCP_CONNTRACK_*` for TCP entries (3 ESTABLISHED, 4 FIN_WAIT, 5
    /// CLOSE_WAIT, 6 LAST_ACK, 7 TIME_WAIT, 8 CLOSE); nil when absent
    /// (other protocols, and DESTROY events, which carry no protoinfo).
    public var tcpState: UInt8?
    /// Seconds left before the entry expires; 0 when absent (DESTROY events).
    public var timeout: UInt32
    public var mark: UInt32
    /// The conntrack zone; 0 (the default zone) when absent.
    public var zone: UInt16
    /// The kernel's id of the entry (stable for its lifetime).
    public var id: UInt32

    public init(original: ConntrackTuple, reply: ConntrackTuple, status: UInt32, tcpState: UInt8? = nil,
                timeout: UInt32 = 0, mark: UInt32 = 0, zone: UInt16 = 0, id: UInt32 = 0) {
        self.original = original
        self.reply = reply
        self.status = status
        self.tcpState = tcpState
        self.timeout = timeout
        self.mark = mark
        self.zone = zone
        self.id = id
    }

    // IPS_* bits from <linux/netfilter/nf_conntrack_common.h> (UAPI values).
    public static let statusSeenReply: UInt32 = 1 << 1
    public static let statusAssured: UInt32 = 1 << 2
    public static let statusConfirmed: UInt32 = 1 << 3
    public static let statusSourceNAT: UInt32 = 1 << 4
    public static let statusDestinationNAT: UInt32 = 1 << 5
    public static let statusDying: UInt32 = 1 << 9
    public static let statusOffload: UInt32 = 1 << 14

    /// `TCP_CONNTRACK_ESTABLISHED`.
    public static let tcpEstablished: UInt8 = 3

    /// Replies were seen and the flow stayed active (`IPS_ASSURED`).
    public var isAssured: Bool { status & ConntrackEntry.statusAssured != 0 }
    /// The source is translated (`IPS_SRC_NAT`: SNAT or masquerade).
    public var isSourceNAT: Bool { status & ConntrackEntry.statusSourceNAT != 0 }
    /// The destination is translated (`IPS_DST_NAT`: DNAT, port forward).
    public var isDestinationNAT: Bool { status & ConntrackEntry.statusDestinationNAT != 0 }
    /// The entry is being torn down (`IPS_DYING`).
    public var isDying: Bool { status & ConntrackEntry.statusDying != 0 }
    /// A TCP entry in state ESTABLISHED.
    public var isTCPEstablished: Bool {
        original.proto == ConntrackTuple.tcp && tcpState == ConntrackEntry.tcpEstablished
    }
}

/// One change conntrack reported.
public enum ConntrackEvent: Hashable, Sendable {
    /// A new entry was confirmed (the first packet passed the hooks; the
    /// reply tuple already holds the NAT the kernel chose).
    case new(ConntrackEntry)
    /// An entry changed: status (SEEN_REPLY, ASSURED), TCP state, mark,
    /// or a timeout set through ctnetlink (also the daemon's own refreshes).
    case update(ConntrackEntry)
    /// An entry was removed (expiry, `conntrack -D`, flush). The entry has
    /// tuples, status and id, but no timeout and no TCP state.
    case destroy(ConntrackEntry)
    /// The kernel dropped events (`ENOBUFS`): resynchronise with `dumpAll`.
    case overflow
}
