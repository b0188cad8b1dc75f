import Foundation
import XCTest
import LabSupport

/// The kernel is the oracle: ICMP errors about offloaded flows (TTL expiry
/// at the router, a route MTU smaller than the packets). The router's ICMP
/// rate limit is off so the kernel's errors are counted exactly.
final class DifferentialICMPTests: XCTestCase {
    /// An offloaded IPv4 flow, then datagrams of it with TTL 1 (and IPv6
    /// with hop limit 1): the router answers each with time exceeded.
    func testTTLExpiryInAnOffloadedFlow() throws {
        try DifferentialHarness.check(DifferentialScenario(
            name: "TTL expiry in an offloaded flow",
            recorderFilter: ["--port", "7600", "--port", "7601", "--icmp"],
            setup: { lab in try Self.setUpRouter(lab) },
            traffic: { lab in
                try Self.offloadThenSend(lab, ports: ["7600", "7601"], ["--ttl", "1"])
            }))
    }

    /// A route with `mtu 1400` towards h2 (IPv4 and IPv6), an offloaded flow,
    /// then 1450-byte datagrams with DF: the router must answer with
    /// fragmentation needed / packet too big and forward none of them.
    func testRouteMTUInAnOffloadedFlow() throws {
        try DifferentialHarness.check(Self.routeMTU(mode: "native"))
    }

    /// The same through the TC program.
    func testRouteMTUInAnOffloadedFlowInTCMode() throws {
        try DifferentialHarness.check(Self.routeMTU(mode: "tc"))
    }

    static func routeMTU(mode: String) -> DifferentialScenario {
        DifferentialScenario(
            name: "route MTU in an offloaded flow (\(mode))",
            config: DifferentialScenario.conntrackConfig().replacingOccurrences(of: "mode 'native'", with: "mode '\(mode)'"),
            mode: mode == "tc" ? "tc" : "xdp-native",
            recorderFilter: ["--port", "7602", "--port", "7603", "--icmp"],
            setup: { lab in
                try setUpRouter(lab)
                try lab.sh(lab.router, """
                    ip route add \(NamespaceLab.h2IPv4)/32 dev wan0 mtu 1400
                    ip -6 route add \(NamespaceLab.h2IPv6)/128 dev wan0 mtu 1400
                    """)
            },
            traffic: { lab in
                try offloadThenSend(lab, ports: ["7602", "7603"], ["--size", "1450", "--df"])
            })
    }

    static func setUpRouter(_ lab: DifferentialContext) throws {
        try lab.exec(lab.router, "nft", "-f", DifferentialScenario.fw4Ruleset)
        try lab.exec(lab.router, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0")
    }

    /// Echo servers on h2 for an IPv4 and an IPv6 flow; 700 small datagrams
    /// of each (offloaded by the end), then 50 more of each with `options`.
    static func offloadThenSend(_ lab: DifferentialContext, ports: [String], _ options: [String]) throws {
        try lab.startServer(lab.h2, "udp_echo.py", ports[0], "4")
        try lab.startServer(lab.h2, "udp_echo.py", ports[1], "6")
        let targets = [(NamespaceLab.h2IPv4, ports[0], "40050"), (NamespaceLab.h2IPv6, ports[1], "40051")]
        for (count, interval, extra) in [("700", "0.005", [String]()), ("50", "0.01", options)] {
            let flows = try targets.map { host, port, sport in
                try lab.start(lab.h1, "udp_flow.py", arguments: [host, port, count, interval, "--sport", sport] + extra)
            }
            for flow in flows { _ = flow.finish() }
        }
    }
}
