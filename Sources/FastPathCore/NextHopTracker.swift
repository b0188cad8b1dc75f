/// The gateways the routing table uses and whether their neighbours are
/// resolved, so the daemon can trigger ARP/ND for the ones that are not
/// (the fast path then rarely meets NO_NEIGH).
///
/// Bounded memory: it keeps one entry per distinct gateway with a count of
/// the routes through it, never the routes themselves, so a full BGP table
/// through two upstreams costs two entries. A route replaced in place (same
/// prefix, new gateway) is seen as an add only; the daemon re-counts from a
/// fresh dump when the kernel reports an event overflow.
public struct NextHopTracker: Equatable {
    public struct Gateway: Hashable {
        public var ifindex: UInt32
        public var address: [UInt8]

        public init(ifindex: UInt32, address: [UInt8]) {
            self.ifindex = ifindex
            self.address = address
        }
    }

    private var routeCounts: [Gateway: Int] = [:]
    private var resolved: Set<Gateway> = []

    public init() {}

    public var gateways: [Gateway] { Array(routeCounts.keys) }

    /// Gateways in use whose neighbour entry is not valid.
    public var unresolved: [Gateway] {
        routeCounts.keys.filter { !resolved.contains($0) }
    }

    /// A route through `gateways` appeared. Returns the ones that are new
    /// and not resolved yet: probe those.
    public mutating func routeAdded(through gateways: [Gateway]) -> [Gateway] {
        var toProbe: [Gateway] = []
        for gateway in gateways {
            let count = routeCounts[gateway] ?? 0
            routeCounts[gateway] = count + 1
            if count == 0 && !resolved.contains(gateway) { toProbe.append(gateway) }
        }
        return toProbe
    }

    public mutating func routeRemoved(through gateways: [Gateway]) {
        for gateway in gateways {
            guard let count = routeCounts[gateway] else { continue }
            if count <= 1 {
                routeCounts[gateway] = nil
                resolved.remove(gateway)
            } else {
                routeCounts[gateway] = count - 1
            }
        }
    }

    /// A neighbour entry changed. Returns true when it belongs to a gateway
    /// in use and is no longer valid: probe it again.
    public mutating func neighbourChanged(_ gateway: Gateway, isValid: Bool) -> Bool {
        guard routeCounts[gateway] != nil else { return false }
        if isValid {
            resolved.insert(gateway)
            return false
        }
        resolved.remove(gateway)
        return true
    }

    /// Forgets every route (before re-counting from a dump).
    public mutating func resetRoutes() {
        routeCounts = [:]
    }
}
