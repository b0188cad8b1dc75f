import FastPathCore
import FastPathKernel

/// rtnetlink events (links, routes, neighbours) into the kernel view, the
/// next hops and the route MTUs.
extension Daemon {
    func receiveKernelEvents() {
        do {
            try monitor.receive { event in self.handle(event) }
        } catch {
            log.error("netlink: \(error.description)")
        }
        if fibChanged {
            fibChanged = false
            ignoringErrors { () throws(FastPathError) in
                try dataPath.setRouteMTUFloor(routeMTUs.floor)
                try dataPath.bumpFIBGeneration()
            }
        }
    }

    /// Rebuilds the view from a fresh dump (start, and after an overflow).
    func resync() throws(FastPathError) {
        view = KernelView()
        nextHops.resetRoutes()
        routeMTUs.removeAll()
        try monitor.dumpAll { event in self.handle(event) }
        try dataPath.setRouteMTUFloor(routeMTUs.floor)
        needsReconcile = true
    }

    func handle(_ event: KernelEvent) {
        switch event {
        case .link(let link):
            fibChanged = true
            let xdp = try? features?.features(ifindex: link.ifindex)
            view.apply(ViewLink(ifindex: link.ifindex, name: link.name, mac: link.mac, isUp: link.isUp,
                                xdpFeatures: xdp ?? nil,
                                reversePathFilter: KernelSurvey.reversePathFilter(of: link.name)))
            needsReconcile = true
        case .linkRemoved(let ifindex, let name):
            fibChanged = true
            let removed = view.removeLink(ifindex: ifindex)
            // A refusal belongs to the device that refused: one that comes
            // back (a new ifindex) is probed afresh. An attach racing the
            // removal fails with ENODEV, which is no verdict on the driver.
            nativeRefusals[name] = nil
            if let removed { nativeRefusals[removed.name] = nil }
            needsReconcile = true
        case .address(let address):
            ignoringErrors { () throws(FastPathError) in
                try dataPath.addLocalAddress(address.bytes, ifindex: address.ifindex)
            }
        case .addressRemoved(let address):
            ignoringErrors { () throws(FastPathError) in _ = try dataPath.removeLocalAddress(address.bytes) }
        case .route(let route):
            fibChanged = true
            for gateway in nextHops.routeAdded(through: Daemon.gateways(of: route)) { probe(gateway) }
            routeMTUs.routeChanged(Daemon.name(of: route), mtu: route.mtu)
        case .routeRemoved(let route):
            fibChanged = true
            nextHops.routeRemoved(through: Daemon.gateways(of: route))
            routeMTUs.routeRemoved(Daemon.name(of: route))
        case .neighbour(let neighbour):
            fibChanged = true // a MAC may have changed
            let gateway = NextHopTracker.Gateway(ifindex: neighbour.ifindex, address: neighbour.address)
            if nextHops.neighbourChanged(gateway, isValid: neighbour.isReachable) { scheduleProbeRetry() }
        case .neighbourRemoved(let neighbour):
            fibChanged = true
            let gateway = NextHopTracker.Gateway(ifindex: neighbour.ifindex, address: neighbour.address)
            if nextHops.neighbourChanged(gateway, isValid: false) { scheduleProbeRetry() }
        case .overflow:
            log.warning("netlink events overflowed; re-reading the kernel state")
            ignoringErrors { () throws(FastPathError) in try resync() }
        }
    }

    static func name(of route: RouteInfo) -> RouteMTUs.Route {
        RouteMTUs.Route(family: route.family, table: route.table, destination: route.destination,
                        prefixLength: route.prefixLength, priority: route.priority)
    }

    static func gateways(of route: RouteInfo) -> [NextHopTracker.Gateway] {
        route.nextHops.filter { !$0.gateway.isEmpty }.map {
            NextHopTracker.Gateway(ifindex: $0.ifindex, address: $0.gateway)
        }
    }
}
