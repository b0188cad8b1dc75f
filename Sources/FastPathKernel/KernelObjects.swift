// The kernel's objects as the daemon sees them: plain values copied out of
// rtnetlink messages, no pointers. Addresses are raw network-order bytes
// (4 for IPv4, 16 for IPv6); families are 4 or 6.

/// A network device (`RTM_NEWLINK`).
public struct LinkInfo: Equatable, Sendable {
    public var ifindex: UInt32
    public var name: String
    /// The rtnetlink link kind (`IFLA_INFO_KIND`): "veth", "vlan", "bridge", …;
    /// "" for a physical device (and loopback).
    public var kind: String
    /// The hardware address; empty when the device has none (e.g. tun).
    public var mac: [UInt8]
    public var mtu: UInt32
    /// Administratively up (`IFF_UP`).
    public var isUp: Bool
    /// Operationally up (`IFF_RUNNING`: carrier and not dormant).
    public var isRunning: Bool
    /// The master (bridge, bond, VRF) ifindex; 0 when none.
    public var masterIndex: UInt32
    /// The lower device (`IFLA_LINK`): a VLAN's parent, a veth's peer
    /// (its index is in the peer's namespace); 0 when none.
    public var linkIndex: UInt32
    /// The 802.1Q id for kind "vlan"; nil otherwise.
    public var vlanID: UInt16?

    public init(ifindex: UInt32, name: String, kind: String = "", mac: [UInt8] = [], mtu: UInt32 = 1500,
                isUp: Bool = false, isRunning: Bool = false, masterIndex: UInt32 = 0, linkIndex: UInt32 = 0,
                vlanID: UInt16? = nil) {
        self.ifindex = ifindex
        self.name = name
        self.kind = kind
        self.mac = mac
        self.mtu = mtu
        self.isUp = isUp
        self.isRunning = isRunning
        self.masterIndex = masterIndex
        self.linkIndex = linkIndex
        self.vlanID = vlanID
    }
}

/// An interface address (`RTM_NEWADDR`): the local address and its prefix.
public struct AddressInfo: Equatable, Sendable {
    public var ifindex: UInt32
    /// 4 or 6.
    public var family: UInt8
    public var bytes: [UInt8]
    public var prefixLength: UInt8

    public init(ifindex: UInt32, family: UInt8, bytes: [UInt8], prefixLength: UInt8) {
        self.ifindex = ifindex
        self.family = family
        self.bytes = bytes
        self.prefixLength = prefixLength
    }
}

/// One next hop of a route: out interface and gateway.
public struct RouteNextHop: Equatable, Sendable {
    public var ifindex: UInt32
    /// The gateway address: 4 or 16 bytes (16 also for an IPv4 route via an
    /// IPv6 gateway, `RTA_VIA`); empty for a directly connected next hop.
    public var gateway: [UInt8]
    /// The multipath weight (1 for a single path).
    public var weight: UInt16

    public init(ifindex: UInt32, gateway: [UInt8], weight: UInt16 = 1) {
        self.ifindex = ifindex
        self.gateway = gateway
        self.weight = weight
    }

    /// The gateway's family (4 or 6), or nil when there is no gateway.
    public var gatewayFamily: UInt8? {
        switch gateway.count {
        case 4: return 4
        case 16: return 6
        default: return nil
        }
    }
}

/// A route (`RTM_NEWROUTE`), with every next hop of a multipath route.
public struct RouteInfo: Equatable, Sendable {
    /// 4 or 6.
    public var family: UInt8
    /// The routing table (254 main, 255 local).
    public var table: UInt32
    /// The destination prefix: always 4 or 16 bytes (zeros for a default route).
    public var destination: [UInt8]
    public var prefixLength: UInt8
    /// The metric (`RTA_PRIORITY`).
    public var priority: UInt32
    /// `RTN_*`: 1 unicast, 2 local, 3 broadcast, 6 blackhole, 7 unreachable, 8 prohibit, …
    public var type: UInt8
    public var nextHops: [RouteNextHop]
    /// The route's own MTU (`RTAX_MTU`, `ip route … mtu N`); 0 when it has none.
    public var mtu: UInt32

    public init(family: UInt8, table: UInt32, destination: [UInt8], prefixLength: UInt8, priority: UInt32 = 0,
                type: UInt8 = RouteInfo.unicast, nextHops: [RouteNextHop], mtu: UInt32 = 0) {
        self.family = family
        self.table = table
        self.destination = destination
        self.prefixLength = prefixLength
        self.priority = priority
        self.type = type
        self.nextHops = nextHops
        self.mtu = mtu
    }

    /// `RTN_UNICAST`.
    public static let unicast: UInt8 = 1

    /// True when some next hop has a gateway: the routes whose neighbours matter.
    public var hasGateway: Bool { nextHops.contains { !$0.gateway.isEmpty } }
}

/// A neighbour (ARP/ND) entry (`RTM_NEWNEIGH`).
public struct NeighbourInfo: Equatable, Sendable {
    public var ifindex: UInt32
    /// 4 or 6.
    public var family: UInt8
    public var address: [UInt8]
    /// The link-layer address; empty while unresolved.
    public var mac: [UInt8]
    /// `NUD_*` bits: 0x01 INCOMPLETE, 0x02 REACHABLE, 0x04 STALE, 0x08 DELAY,
    /// 0x10 PROBE, 0x20 FAILED, 0x40 NOARP, 0x80 PERMANENT; 0 NONE.
    public var state: UInt16

    public init(ifindex: UInt32, family: UInt8, address: [UInt8], mac: [UInt8], state: UInt16) {
        self.ifindex = ifindex
        self.family = family
        self.address = address
        self.mac = mac
        self.state = state
    }

    /// `NUD_VALID`: PERMANENT, NOARP, REACHABLE, PROBE, STALE or DELAY, i.e.
    /// the kernel has a usable link-layer address (what `bpf_fib_lookup` needs).
    public static let validStates: UInt16 = 0x80 | 0x40 | 0x02 | 0x10 | 0x04 | 0x08
    /// `NUD_FAILED`.
    public static let failedState: UInt16 = 0x20

    /// The entry has a usable link-layer address (`state & NUD_VALID`).
    public var isReachable: Bool { state & NeighbourInfo.validStates != 0 }
}

/// One change the kernel reported, or a dump entry.
public enum KernelEvent: Equatable, Sendable {
    case link(LinkInfo)
    case linkRemoved(ifindex: UInt32, name: String)
    case address(AddressInfo)
    case addressRemoved(AddressInfo)
    case route(RouteInfo)
    case routeRemoved(RouteInfo)
    case neighbour(NeighbourInfo)
    case neighbourRemoved(NeighbourInfo)
    /// The kernel dropped events (`ENOBUFS`: the socket's receive buffer
    /// overflowed): the view is stale, resynchronise with a full dump.
    case overflow
}
