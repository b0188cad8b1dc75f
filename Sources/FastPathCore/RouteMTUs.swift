/// The routes that carry an MTU of their own (`ip route … mtu N`), and the
/// smallest of them. The kernel's forwarding honours such an MTU, but
/// `bpf_fib_lookup` checks only the device's (and a locked route MTU), so
/// the programs pass to the kernel every packet longer than the smallest
/// route MTU there is: the kernel then fragments it or sends the ICMP error.
///
/// Memory: one entry per route with an MTU (a handful), not per route.
public struct RouteMTUs: Equatable {
    /// What names a route to the kernel.
    public struct Route: Hashable {
        public var family: UInt8
        public var table: UInt32
        public var destination: [UInt8]
        public var prefixLength: UInt8
        public var priority: UInt32

        public init(family: UInt8, table: UInt32, destination: [UInt8], prefixLength: UInt8, priority: UInt32) {
            self.family = family
            self.table = table
            self.destination = destination
            self.prefixLength = prefixLength
            self.priority = priority
        }
    }

    private var mtus: [Route: UInt32] = [:]

    public init() {}

    /// A route was added or replaced (`mtu` 0: it has none).
    public mutating func routeChanged(_ route: Route, mtu: UInt32) {
        mtus[route] = mtu == 0 ? nil : mtu
    }

    public mutating func routeRemoved(_ route: Route) {
        mtus[route] = nil
    }

    public mutating func removeAll() {
        mtus.removeAll()
    }

    /// The smallest route MTU, or 0 when no route has one.
    public var floor: UInt32 { mtus.values.min() ?? 0 }
}
