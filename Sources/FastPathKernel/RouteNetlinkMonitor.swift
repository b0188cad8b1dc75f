import CFastPathShim
import CNetlink

/// The daemon's window on rtnetlink: links, addresses, routes and neighbours,
/// as `KernelEvent` values, from change notifications (`receive`) and from a
/// full dump (`dumpAll`).
///
/// Two libnl sockets, both bound to the network namespace of the thread that
/// creates the monitor: a non-blocking one subscribed to the multicast groups
/// (the daemon's `Poller` watches it), and a blocking one
/// for dumps.
///
/// Memory: nothing is cached. Dumps are streamed (`RTM_GET* NLM_F_DUMP`,
/// one message at a time parsed into a transient libnl object, converted,
/// freed), never through an `nl_cache`; with `routesWithGatewayOnly` (the
/// default) routes without a gateway (connected, local, broadcast,
/// blackhole) are dropped as they are read. The closure forms of `receive`
/// and `dumpAll` hand each event over as it is parsed, so a caller that
/// reduces routes to their distinct next hops keeps RSS flat even with a full
/// BGP table; the array forms collect, which costs ~200 bytes per route kept.
public final class RouteNetlinkMonitor: Pollable {
    private let events: NetlinkSocket
    private let dumps: NetlinkSocket
    private let sink: KernelEventSink
    /// The receive buffer the kernel granted the event socket (bytes, as
    /// `getsockopt(SO_RCVBUF)` reports it: twice the request).
    public let receiveBufferSize: Int

    /// At most this many datagrams are read per `receive` call, so that an
    /// event storm cannot starve the rest of the poll loop (the fd stays
    /// readable; the next `poll` returns at once).
    public var maximumDatagramsPerReceive = 256

    /// Drop routes without a gateway (from events and dumps).
    public var routesWithGatewayOnly: Bool {
        get { sink.routesWithGatewayOnly }
        set { sink.routesWithGatewayOnly = newValue }
    }

    /// The event socket: readable when notifications are pending.
    public var pollDescriptor: PollDescriptor { PollDescriptor(events.fileDescriptor) }

    /// Subscribes to RTNLGRP_LINK, IPV4/IPV6_IFADDR, IPV4/IPV6_ROUTE and NEIGH
    /// in the calling thread's network namespace. `receiveBufferSize` is set
    /// with SO_RCVBUFFORCE (it may exceed net.core.rmem_max as root); the
    /// kernel charges it only while events are queued. Too small a buffer
    /// overflows during bursts (route flaps): `receive` then reports
    /// `.overflow` and the caller resynchronises with `dumpAll`.
    public init(receiveBufferSize: Int = 4 << 20, routesWithGatewayOnly: Bool = true) throws(FastPathError) {
        let sink = KernelEventSink(routesWithGatewayOnly: routesWithGatewayOnly)
        let groups: [UInt32] = [RTNLGRP_LINK.rawValue, RTNLGRP_IPV4_IFADDR.rawValue, RTNLGRP_IPV6_IFADDR.rawValue,
                                RTNLGRP_IPV4_ROUTE.rawValue, RTNLGRP_IPV6_ROUTE.rawValue, RTNLGRP_NEIGH.rawValue]
        let events = try NetlinkSocket.subscribed(protocol: NETLINK_ROUTE, groups: groups, purpose: "rtnetlink events")
        let dumps = try NetlinkSocket(protocol: NETLINK_ROUTE, purpose: "rtnetlink dumps")
        let granted = try events.setReceiveBuffer(receiveBufferSize)
        events.setValidMessageHandler(sink)
        dumps.setValidMessageHandler(sink)
        self.events = events
        self.dumps = dumps
        self.sink = sink
        self.receiveBufferSize = granted
    }

    /// Drains the pending notifications without blocking and returns them in
    /// order. `.overflow` among them means some were lost (ENOBUFS).
    public func receive() throws(FastPathError) -> [KernelEvent] {
        var result: [KernelEvent] = []
        try receive { result.append($0) }
        return result
    }

    /// Drains the pending notifications without blocking, handing each to
    /// `handle` as it is parsed.
    public func receive(_ handle: (KernelEvent) -> Void) throws(FastPathError) {
        let failure = sink.delivering(to: handle) { () -> FastPathError? in
            events.drain(limit: maximumDatagramsPerReceive, what: "rtnetlink events") { sink.emit(.overflow) }
        }
        if let failure { throw failure }
    }

    /// Dumps links, addresses, routes (IPv4, then IPv6) and neighbours (ARP,
    /// ND) and returns them as `.link`, `.address`, `.route`, `.neighbour`
    /// events, in that order. Blocks until the kernel has sent everything.
    public func dumpAll() throws(FastPathError) -> [KernelEvent] {
        var result: [KernelEvent] = []
        try dumpAll { result.append($0) }
        return result
    }

    /// Like `dumpAll()`, handing each entry to `handle` as it is parsed
    /// instead of collecting: nothing but the current message is held.
    public func dumpAll(_ handle: (KernelEvent) -> Void) throws(FastPathError) {
        let requests: [(type: Int32, family: Int32, what: String)] = [
            (Int32(RTM_GETLINK), AF_UNSPEC, "links"),
            (Int32(RTM_GETADDR), AF_UNSPEC, "addresses"),
            (Int32(RTM_GETROUTE), AF_INET, "IPv4 routes"),
            (Int32(RTM_GETROUTE), AF_INET6, "IPv6 routes"),
            (Int32(RTM_GETNEIGH), AF_INET, "ARP neighbours"),
            (Int32(RTM_GETNEIGH), AF_INET6, "ND neighbours"),
        ]
        let failure = sink.delivering(to: handle) { () -> FastPathError? in
            for request in requests {
                if let failure = dump(type: request.type, family: request.family, what: request.what) {
                    return failure
                }
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// One `NLM_F_DUMP` request, read to `NLMSG_DONE`. A dump the kernel
    /// marks interrupted (the table changed meanwhile) is repeated: the
    /// entries already delivered are upserts, so repeats are harmless.
    private func dump(type: Int32, family: Int32, what: String) -> FastPathError? {
        var attempt = 0
        while true {
            attempt += 1
            var rc = nl_rtgen_request(dumps.handle, type, family, NLM_F_DUMP)
            if rc >= 0 { rc = nl_recvmsgs_default(dumps.handle) }
            if rc >= 0 { return nil }
            if rc == -NLE_DUMP_INTR && attempt < 5 { continue }
            return FastPathError("dump " + what, code: .netlink(-rc))
        }
    }
}

// MARK: - The thin layer: libnl object conversion

/// Turns the libnl objects parsed from messages into `KernelEvent`s and
/// hands them to the closure of the current `receive`/`dumpAll` call.
final class KernelEventSink {
    var routesWithGatewayOnly: Bool
    /// The family in the header of the message being parsed (libnl reports
    /// a bridge device's family as AF_BRIDGE; the header says AF_UNSPEC).
    var messageFamily: UInt8 = 0
    private var deliver: ((KernelEvent) -> Void)?

    /// `RTAX_MTU`.
    static let metricMTU: Int32 = 2

    init(routesWithGatewayOnly: Bool) {
        self.routesWithGatewayOnly = routesWithGatewayOnly
    }

    /// Runs `body` with events going to `handle`.
    func delivering(to handle: (KernelEvent) -> Void, _ body: () -> FastPathError?) -> FastPathError? {
        withoutActuallyEscaping(handle) { escapable -> FastPathError? in
            deliver = escapable
            defer { deliver = nil }
            return body()
        }
    }

    func emit(_ event: KernelEvent) {
        deliver?(event)
    }

    /// One parsed `nl_object` (a `route/link`, `route/addr`, `route/route`
    /// or `route/neigh`); the message type tells new from deleted.
    func take(_ object: OpaquePointer) {
        switch Int(nl_object_get_msgtype(object)) {
        case RTM_NEWLINK:
            if let link = link(object) { emit(.link(link)) }
        case RTM_DELLINK:
            if let link = link(object) { emit(.linkRemoved(ifindex: link.ifindex, name: link.name)) }
        case RTM_NEWADDR:
            if let address = KernelEventSink.address(object) { emit(.address(address)) }
        case RTM_DELADDR:
            if let address = KernelEventSink.address(object) { emit(.addressRemoved(address)) }
        case RTM_NEWROUTE, RTM_DELROUTE:
            guard let route = KernelEventSink.route(object) else { return }
            if routesWithGatewayOnly && !route.hasGateway { return }
            emit(Int(nl_object_get_msgtype(object)) == RTM_NEWROUTE ? .route(route) : .routeRemoved(route))
        case RTM_NEWNEIGH:
            if let neighbour = KernelEventSink.neighbour(object) { emit(.neighbour(neighbour)) }
        case RTM_DELNEIGH:
            if let neighbour = KernelEventSink.neighbour(object) { emit(.neighbourRemoved(neighbour)) }
        default:
            break
        }
    }

    // IFF_* from <linux/if.h> (UAPI values).
    private static let iffUp: UInt32 = 0x1
    private static let iffRunning: UInt32 = 0x40

    /// A device. Bridge-port messages (header family AF_BRIDGE on the same
    /// group, including an RTM_DELLINK when a port leaves its bridge) are not
    /// about the device itself: nil. (`rtnl_link_get_family` can't tell:
    /// libnl sets AF_BRIDGE on every bridge device.)
    func link(_ link: OpaquePointer) -> LinkInfo? {
        guard Int32(messageFamily) == AF_UNSPEC else { return nil }
        let flags = UInt32(rtnl_link_get_flags(link))
        var info = LinkInfo(ifindex: UInt32(bitPattern: rtnl_link_get_ifindex(link)),
                            name: KernelEventSink.string(rtnl_link_get_name(link)),
                            kind: KernelEventSink.string(rtnl_link_get_type(link)),
                            mac: KernelEventSink.bytes(rtnl_link_get_addr(link)),
                            mtu: UInt32(rtnl_link_get_mtu(link)),
                            isUp: flags & KernelEventSink.iffUp != 0,
                            isRunning: flags & KernelEventSink.iffRunning != 0,
                            masterIndex: UInt32(bitPattern: rtnl_link_get_master(link)),
                            linkIndex: UInt32(bitPattern: rtnl_link_get_link(link)))
        if rtnl_link_is_vlan(link) != 0 {
            let id = rtnl_link_vlan_get_id(link)
            if id >= 0 { info.vlanID = UInt16(truncatingIfNeeded: id) }
        }
        return info
    }

    static func address(_ address: OpaquePointer) -> AddressInfo? {
        guard let family = familyNumber(rtnl_addr_get_family(address)) else { return nil }
        return AddressInfo(ifindex: UInt32(bitPattern: rtnl_addr_get_ifindex(address)), family: family,
                           bytes: bytes(rtnl_addr_get_local(address)),
                           prefixLength: UInt8(truncatingIfNeeded: rtnl_addr_get_prefixlen(address)))
    }

    static func route(_ route: OpaquePointer) -> RouteInfo? {
        guard let family = familyNumber(Int32(rtnl_route_get_family(route))) else { return nil }
        let width = family == 4 ? 4 : 16
        let dst = rtnl_route_get_dst(route)
        var destination = bytes(dst)
        if destination.count != width { destination = [UInt8](repeating: 0, count: width) }
        var nextHops: [RouteNextHop] = []
        let count = rtnl_route_get_nnexthops(route)
        if count > 0 {
            nextHops.reserveCapacity(Int(count))
            for index in 0..<count {
                guard let hop = rtnl_route_nexthop_n(route, index) else { continue }
                // RTA_GATEWAY, or RTA_VIA (an IPv4 route via an IPv6 gateway).
                let gateway = rtnl_route_nh_get_gateway(hop) ?? rtnl_route_nh_get_via(hop)
                nextHops.append(RouteNextHop(ifindex: UInt32(bitPattern: rtnl_route_nh_get_ifindex(hop)),
                                             gateway: bytes(gateway),
                                             weight: UInt16(rtnl_route_nh_get_weight(hop)) + 1))
            }
        }
        var mtu: UInt32 = 0
        if rtnl_route_get_metric(route, KernelEventSink.metricMTU, &mtu) < 0 { mtu = 0 }
        return RouteInfo(family: family, table: rtnl_route_get_table(route), destination: destination,
                         prefixLength: dst.map { UInt8(truncatingIfNeeded: nl_addr_get_prefixlen($0)) } ?? 0,
                         priority: rtnl_route_get_priority(route), type: rtnl_route_get_type(route),
                         nextHops: nextHops, mtu: mtu)
    }

    static func neighbour(_ neighbour: OpaquePointer) -> NeighbourInfo? {
        guard let family = familyNumber(rtnl_neigh_get_family(neighbour)) else { return nil }
        let state = rtnl_neigh_get_state(neighbour)
        return NeighbourInfo(ifindex: UInt32(bitPattern: rtnl_neigh_get_ifindex(neighbour)), family: family,
                             address: bytes(rtnl_neigh_get_dst(neighbour)),
                             mac: bytes(rtnl_neigh_get_lladdr(neighbour)),
                             state: state < 0 ? 0 : UInt16(truncatingIfNeeded: state))
    }

    /// AF_INET → 4, AF_INET6 → 6, anything else nil.
    static func familyNumber(_ family: Int32) -> UInt8? {
        switch family {
        case AF_INET: return 4
        case AF_INET6: return 6
        default: return nil
        }
    }

    /// The bytes of an `nl_addr` (empty for NULL).
    static func bytes(_ address: OpaquePointer?) -> [UInt8] {
        guard let address, let base = nl_addr_get_binary_addr(address) else { return [] }
        let count = Int(nl_addr_get_len(address))
        return [UInt8](UnsafeRawBufferPointer(start: base, count: count))
    }

    static func string(_ text: UnsafeMutablePointer<CChar>?) -> String {
        guard let text else { return "" }
        return String(cString: text)
    }
}
