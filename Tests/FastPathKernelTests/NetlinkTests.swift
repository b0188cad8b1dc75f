import CFastPathShim
import FastPathCore
@testable import FastPathKernel
import Foundation
import XCTest
import LabSupport

/// RouteNetlinkMonitor, XDPFeatureProbe and NeighbourProber against the real
/// kernel, in a network namespace of their own (`fpnl<pid>n<k>`), plus a
/// peer namespace (`fpnl<pid>p<k>`) holding a host to resolve. Runs as root.
/// The sockets are created inside the namespace (a netlink socket stays in
/// the namespace it was created in); `ip -n` changes things from outside.
final class NetlinkTests: XCTestCase {
    nonisolated(unsafe) private static var counter = 0
    private var namespace = ""
    private var peerNamespace = ""

    override func setUpWithError() throws {
        NetlinkTests.counter += 1
        namespace = "fpnl\(getpid())n\(NetlinkTests.counter)"
        peerNamespace = "fpnl\(getpid())p\(NetlinkTests.counter)"
        try shell("ip", "netns", "add", namespace)
        try shell("ip", "netns", "add", peerNamespace)
    }

    override func tearDown() {
        _ = try? shell("ip", "netns", "del", namespace)
        _ = try? shell("ip", "netns", "del", peerNamespace)
    }

    // MARK: - monitor

    func testMonitorReportsChangesAsTheyHappen() throws {
        let monitor = try inNamespace { () throws(FastPathError) in try RouteNetlinkMonitor() }
        XCTAssertGreaterThan(monitor.pollDescriptor.rawValue, 2)
        XCTAssertTrue(try monitor.receive().isEmpty, "nothing pending in a fresh namespace")

        try ip("link", "add", "name", "fpa", "mtu", "1400", "type", "veth", "peer", "name", "fpb")
        try ip("link", "set", "fpa", "up")
        try ip("link", "set", "fpb", "up")
        var seen = try waitFor(monitor) {
            if case .link(let link) = $0 { return link.name == "fpa" && link.isUp && link.isRunning }
            return false
        }
        let fpa = try XCTUnwrap(lastLink(named: "fpa", in: seen))
        let fpb = try XCTUnwrap(lastLink(named: "fpb", in: seen))
        XCTAssertEqual(fpa.kind, "veth")
        XCTAssertEqual(fpa.mtu, 1400)
        XCTAssertEqual(fpa.mac.count, 6)
        XCTAssertEqual(fpa.linkIndex, fpb.ifindex, "a veth's IFLA_LINK is its peer")
        XCTAssertNil(fpa.vlanID)

        try ip("addr", "add", "10.77.0.1/24", "dev", "fpa")
        let v4 = AddressInfo(ifindex: fpa.ifindex, family: 4, bytes: [10, 77, 0, 1], prefixLength: 24)
        seen = try waitFor(monitor) { $0 == .address(v4) }
        XCTAssertFalse(seen.contains { if case .route(let r) = $0 { return !r.hasGateway } else { return false } },
                       "connected/local routes are filtered out by default")

        try ip("addr", "add", "fd77::1/64", "dev", "fpa", "nodad")
        var v6bytes = [UInt8](repeating: 0, count: 16)
        v6bytes[0] = 0xfd; v6bytes[1] = 0x77; v6bytes[15] = 1
        let v6 = AddressInfo(ifindex: fpa.ifindex, family: 6, bytes: v6bytes, prefixLength: 64)
        _ = try waitFor(monitor) { $0 == .address(v6) }

        try ip("route", "add", "198.51.100.0/24", "via", "10.77.0.2", "metric", "7")
        let route = RouteInfo(family: 4, table: 254, destination: [198, 51, 100, 0], prefixLength: 24, priority: 7,
                              type: RouteInfo.unicast,
                              nextHops: [RouteNextHop(ifindex: fpa.ifindex, gateway: [10, 77, 0, 2])])
        _ = try waitFor(monitor) { $0 == .route(route) }

        try ip("-6", "route", "add", "2001:db8:99::/48", "via", "fd77::2")
        var gateway6 = [UInt8](repeating: 0, count: 16)
        gateway6[0] = 0xfd; gateway6[1] = 0x77; gateway6[15] = 2
        seen = try waitFor(monitor) {
            if case .route(let r) = $0 { return r.family == 6 && r.prefixLength == 48 }
            return false
        }
        let route6 = try XCTUnwrap(seen.compactMap { if case .route(let r) = $0, r.family == 6 { return r } else { return nil } }.last)
        XCTAssertEqual(route6.destination, [0x20, 0x01, 0x0d, 0xb8, 0, 0x99] + [UInt8](repeating: 0, count: 10))
        XCTAssertEqual(route6.nextHops, [RouteNextHop(ifindex: fpa.ifindex, gateway: gateway6)])

        // Multipath: every next hop, with its weight.
        try ip("route", "add", "203.0.113.0/24", "nexthop", "via", "10.77.0.2", "weight", "1",
               "nexthop", "via", "10.77.0.3", "weight", "3")
        seen = try waitFor(monitor) {
            if case .route(let r) = $0 { return r.destination == [203, 0, 113, 0] }
            return false
        }
        let multipath = try XCTUnwrap(seen.compactMap { if case .route(let r) = $0, r.destination == [203, 0, 113, 0] { return r } else { return nil } }.last)
        XCTAssertEqual(multipath.nextHops, [RouteNextHop(ifindex: fpa.ifindex, gateway: [10, 77, 0, 2], weight: 1),
                                            RouteNextHop(ifindex: fpa.ifindex, gateway: [10, 77, 0, 3], weight: 3)])

        try ip("neigh", "add", "10.77.0.5", "lladdr", "02:00:00:00:00:05", "dev", "fpa")
        let neighbour = NeighbourInfo(ifindex: fpa.ifindex, family: 4, address: [10, 77, 0, 5],
                                      mac: [2, 0, 0, 0, 0, 5], state: 0x80)
        _ = try waitFor(monitor) { $0 == .neighbour(neighbour) }
        XCTAssertTrue(neighbour.isReachable)

        // Deletions.
        try ip("neigh", "del", "10.77.0.5", "dev", "fpa")
        _ = try waitFor(monitor) {
            if case .neighbourRemoved(let n) = $0 { return n.address == [10, 77, 0, 5] && n.ifindex == fpa.ifindex }
            return false
        }
        try ip("route", "del", "198.51.100.0/24")
        _ = try waitFor(monitor) { $0 == .routeRemoved(route) }
        try ip("addr", "del", "10.77.0.1/24", "dev", "fpa")
        seen = try waitFor(monitor) { $0 == .addressRemoved(v4) }
        try ip("link", "del", "fpa")
        seen = try waitFor(monitor) { $0 == .linkRemoved(ifindex: fpb.ifindex, name: "fpb") }
        if !seen.contains(.linkRemoved(ifindex: fpa.ifindex, name: "fpa")) {
            seen += try waitFor(monitor) { $0 == .linkRemoved(ifindex: fpa.ifindex, name: "fpa") }
        }
        XCTAssertFalse(seen.contains(.overflow))
    }

    func testBridgePortMessagesAreNotLinkRemovals() throws {
        let monitor = try inNamespace { () throws(FastPathError) in try RouteNetlinkMonitor() }
        try ip("link", "add", "name", "fpbr", "type", "bridge")
        try ip("link", "add", "name", "fpa", "type", "veth", "peer", "name", "fpb")
        try ip("link", "set", "fpa", "master", "fpbr")
        var seen = try waitFor(monitor) {
            if case .link(let link) = $0 { return link.name == "fpa" && link.masterIndex != 0 }
            return false
        }
        let bridge = try XCTUnwrap(lastLink(named: "fpbr", in: seen))
        XCTAssertEqual(bridge.kind, "bridge")
        XCTAssertEqual(lastLink(named: "fpa", in: seen)?.masterIndex, bridge.ifindex)

        try ip("link", "set", "fpa", "nomaster")
        seen = try waitFor(monitor) {
            if case .link(let link) = $0 { return link.name == "fpa" && link.masterIndex == 0 }
            return false
        }
        // The kernel also sends an AF_BRIDGE RTM_DELLINK for the port: not a removal of fpa.
        usleep(100_000)
        seen += try monitor.receive()
        XCTAssertFalse(seen.contains { if case .linkRemoved = $0 { return true } else { return false } })
    }

    func testOverflowIsReported() throws {
        // The smallest buffer the kernel grants, and no reading while events pile up.
        let monitor = try inNamespace { () throws(FastPathError) in try RouteNetlinkMonitor(receiveBufferSize: 1) }
        XCTAssertLessThan(monitor.receiveBufferSize, 16 * 1024)
        try ip("link", "add", "name", "fpa", "type", "veth", "peer", "name", "fpb")
        var batch = ""
        for index in 1...200 { batch += "addr add 10.78.\(index).1/24 dev fpa\n" }
        let path = NSTemporaryDirectory() + "fpnl-batch-\(getpid())"
        try batch.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try shell("ip", "-n", namespace, "-batch", path)
        let events = try monitor.receive()
        XCTAssertTrue(events.contains(.overflow), "\(events.count) events and no overflow")
        // After an overflow the socket keeps working, and a dump resynchronises.
        let dump = try monitor.dumpAll()
        XCTAssertEqual(dump.filter { if case .address(let a) = $0 { return a.family == 4 && a.bytes[0] == 10 } else { return false } }.count, 200)
    }

    // MARK: - dump

    func testDumpAllListsLinksAddressesGatewayRoutesAndNeighbours() throws {
        try ip("link", "add", "name", "fpa", "type", "veth", "peer", "name", "fpb")
        try ip("link", "set", "fpa", "up")
        try ip("link", "set", "fpb", "up")
        try ip("link", "set", "lo", "up")
        try ip("addr", "add", "10.77.0.1/24", "dev", "fpa")
        try ip("route", "add", "default", "via", "10.77.0.254")
        try ip("route", "add", "198.51.100.0/24", "via", "10.77.0.2", "table", "100")
        try ip("neigh", "add", "10.77.0.254", "lladdr", "02:00:00:00:00:fe", "dev", "fpa")

        let monitor = try inNamespace { () throws(FastPathError) in try RouteNetlinkMonitor() }
        let dump = try monitor.dumpAll()
        let links = dump.compactMap { if case .link(let l) = $0 { return l } else { return nil } }
        XCTAssertEqual(Set(links.map(\.name)), ["lo", "fpa", "fpb"])
        let lo = try XCTUnwrap(links.first { $0.name == "lo" })
        XCTAssertEqual(lo.kind, "", "loopback is no rtnl link kind")
        XCTAssertEqual(lo.ifindex, 1)
        let fpa = try XCTUnwrap(links.first { $0.name == "fpa" })

        XCTAssertTrue(dump.contains(.address(AddressInfo(ifindex: fpa.ifindex, family: 4, bytes: [10, 77, 0, 1], prefixLength: 24))))
        XCTAssertTrue(dump.contains(.address(AddressInfo(ifindex: 1, family: 4, bytes: [127, 0, 0, 1], prefixLength: 8))))

        let routes = dump.compactMap { if case .route(let r) = $0 { return r } else { return nil } }
        XCTAssertEqual(routes.count, 2, "only the routes with a gateway: \(routes)")
        XCTAssertTrue(routes.contains(RouteInfo(family: 4, table: 254, destination: [0, 0, 0, 0], prefixLength: 0,
                                                nextHops: [RouteNextHop(ifindex: fpa.ifindex, gateway: [10, 77, 0, 254])])))
        XCTAssertTrue(routes.contains(RouteInfo(family: 4, table: 100, destination: [198, 51, 100, 0], prefixLength: 24,
                                                nextHops: [RouteNextHop(ifindex: fpa.ifindex, gateway: [10, 77, 0, 2])])))
        XCTAssertTrue(dump.contains(.neighbour(NeighbourInfo(ifindex: fpa.ifindex, family: 4, address: [10, 77, 0, 254],
                                                             mac: [2, 0, 0, 0, 0, 0xfe], state: 0x80))))

        // Order: links, addresses, routes, neighbours (a view can be built in one pass).
        let order = dump.map { event -> Int in
            switch event {
            case .link: return 0
            case .address: return 1
            case .route: return 2
            case .neighbour: return 3
            default: return 9
            }
        }
        XCTAssertEqual(order, order.sorted())

        // All routes on request, including connected and local ones.
        monitor.routesWithGatewayOnly = false
        var all: [RouteInfo] = []
        try monitor.dumpAll { if case .route(let r) = $0 { all.append(r) } }
        XCTAssertTrue(all.contains(RouteInfo(family: 4, table: 254, destination: [10, 77, 0, 0], prefixLength: 24,
                                             priority: 0, type: 1, nextHops: [RouteNextHop(ifindex: fpa.ifindex, gateway: [])])))
        XCTAssertTrue(all.contains { $0.table == 255 && $0.type == 2 && $0.destination == [10, 77, 0, 1] }, "local route")
    }

    // MARK: - XDP features

    func testXDPFeaturesOfVethDependOnThePeer() throws {
        let probe = try inNamespace { () throws(FastPathError) in try XDPFeatureProbe() }
        try XCTSkipUnless(probe.isSupported, "kernel has no netdev genetlink family (< 6.3)")
        try ip("link", "add", "name", "fpa", "type", "veth", "peer", "name", "fpb")
        let fpa = try index(of: "fpa"), fpb = try index(of: "fpb")

        let plain = try XCTUnwrap(try probe.features(ifindex: fpa))
        XCTAssertTrue(plain.contains([.basic, .redirect, .rxSG]), "\(plain)")
        XCTAssertFalse(plain.contains(.ndoXmit), "no ndo_xmit while the peer has neither XDP nor GRO: \(plain)")
        XCTAssertTrue(plain.contains([.basic, .redirect]))

        // GRO on the peer: not while the pair is down, at once when it is up.
        try shell("ip", "netns", "exec", namespace, "ethtool", "-K", "fpb", "gro", "on")
        XCTAssertFalse(try XCTUnwrap(try probe.features(ifindex: fpa)).contains(.ndoXmit))
        try ip("link", "set", "fpa", "up")
        try ip("link", "set", "fpb", "up")
        let withGRO = try XCTUnwrap(try probe.features(ifindex: fpa))
        XCTAssertTrue(withGRO.contains([.basic, .redirect, .ndoXmit, .ndoXmitSG]), "\(withGRO)")
        let peer = try XCTUnwrap(try probe.features(ifindex: fpb))
        XCTAssertFalse(peer.contains(.ndoXmit), "fpb's own GRO makes fpa a target, not fpb: \(peer)")
        try shell("ip", "netns", "exec", namespace, "ethtool", "-K", "fpb", "gro", "off")
        XCTAssertFalse(try XCTUnwrap(try probe.features(ifindex: fpa)).contains(.ndoXmit), "follows the peer's GRO")

        let loopback = try XCTUnwrap(try probe.features(ifindex: 1))
        XCTAssertEqual(loopback, [], "loopback has no native XDP")
        XCTAssertEqual(loopback.names, [])

        XCTAssertThrowsError(try probe.features(ifindex: 999_999)) { error in
            XCTAssertEqual((error as? FastPathError)?.code, .netlink(nleNoDevice), "\(error)")
        }
    }

    // MARK: - neighbour probes

    func testProberResolvesALiveGatewayAndFailsAnAbsentOne() throws {
        try ip("link", "add", "name", "fpa", "type", "veth", "peer", "name", "fpb", "netns", peerNamespace)
        try ip("addr", "add", "10.77.0.1/24", "dev", "fpa")
        try ip("addr", "add", "fd77::1/64", "dev", "fpa", "nodad")
        try ip("link", "set", "fpa", "up")
        try shell("ip", "-n", peerNamespace, "addr", "add", "10.77.0.2/24", "dev", "fpb")
        try shell("ip", "-n", peerNamespace, "addr", "add", "fd77::2/64", "dev", "fpb", "nodad")
        try shell("ip", "-n", peerNamespace, "link", "set", "fpb", "up")
        let fpa = try index(of: "fpa")

        let (monitor, prober) = try inNamespace { () throws(FastPathError) in
            (try RouteNetlinkMonitor(), try NeighbourProber())
        }
        XCTAssertFalse(try shell("ip", "-n", namespace, "neigh", "show", "10.77.0.2").contains("lladdr"))
        let started = Date()
        try prober.probe(ifindex: fpa, address: [10, 77, 0, 2])
        let seen = try waitFor(monitor) {
            if case .neighbour(let n) = $0 { return n.address == [10, 77, 0, 2] && n.isReachable }
            return false
        }
        let resolvedAfter = Date().timeIntervalSince(started)
        let entry = try XCTUnwrap(seen.compactMap { if case .neighbour(let n) = $0, n.isReachable { return n } else { return nil } }.last)
        XCTAssertEqual(entry.mac.count, 6)
        XCTAssertEqual(entry.state, 0x02, "REACHABLE")
        XCTAssertTrue(try shell("ip", "-n", namespace, "neigh", "show", "10.77.0.2").contains("REACHABLE"))
        print("IPv4 gateway resolved \(Int(resolvedAfter * 1000)) ms after the probe")

        var gateway6 = [UInt8](repeating: 0, count: 16)
        gateway6[0] = 0xfd; gateway6[1] = 0x77; gateway6[15] = 2
        try prober.probe(RouteNextHop(ifindex: fpa, gateway: gateway6))
        _ = try waitFor(monitor) {
            if case .neighbour(let n) = $0 { return n.address == gateway6 && n.isReachable }
            return false
        }

        // Probing again a resolved entry is harmless (it stays valid).
        try prober.probe(ifindex: fpa, address: [10, 77, 0, 2])
        XCTAssertTrue(try shell("ip", "-n", namespace, "neigh", "show", "10.77.0.2").contains("lladdr"))

        // Nobody at .9: INCOMPLETE at once (the kernel sends no event for
        // that), then FAILED (an event) after the solicitations time out.
        try prober.probe(ifindex: fpa, address: [10, 77, 0, 9])
        XCTAssertTrue(try shell("ip", "-n", namespace, "neigh", "show", "10.77.0.9").contains("INCOMPLETE"))
        let failedAt = Date()
        _ = try waitFor(monitor, timeout: 10) {
            if case .neighbour(let n) = $0 { return n.address == [10, 77, 0, 9] && n.state == NeighbourInfo.failedState }
            return false
        }
        print("absent IPv4 neighbour FAILED \(Int(Date().timeIntervalSince(failedAt) * 1000)) ms after the probe")

        XCTAssertThrowsError(try prober.probe(ifindex: fpa, address: [1, 2, 3]))
    }


    // MARK: - helpers

    /// NLE_NODEV (libnl's code for ENODEV).
    private let nleNoDevice: Int32 = 31

    private func inNamespace<R>(_ body: () throws(FastPathError) -> R) throws -> R {
        try FastPathKernelTests.inNamespace(namespace, body)
    }

    private func index(of name: String) throws -> UInt32 {
        try interfaceIndex(name, in: namespace)
    }

    /// `ip -n NAMESPACE args…`
    @discardableResult
    private func ip(_ arguments: String...) throws -> String {
        try Shell.run(["ip", "-n", namespace] + arguments)
    }



    private func lastLink(named name: String, in events: [KernelEvent]) -> LinkInfo? {
        events.compactMap { if case .link(let l) = $0, l.name == name { return l } else { return nil } }.last
    }
}
