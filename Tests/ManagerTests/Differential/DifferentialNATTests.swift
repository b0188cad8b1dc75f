import Foundation
import XCTest
import LabSupport

/// The kernel is the oracle: NAT scenarios (port forward, hairpin, IPv6
/// with and without NAT, fragments) under policy conntrack and the fw4-like
/// ruleset, run with the kernel alone and with fastpath.
final class DifferentialNATTests: XCTestCase {
    static let wan = NamespaceLab.wanIPv4

    /// A UDP port forward wan:8081 → h1:81, used from the WAN (h2) and, as
    /// hairpin NAT with fw4's reflection rules, from the LAN (h1's second
    /// address 192.0.2.200 reaching the router's WAN address).
    func testPortForwardAndHairpinNAT() throws {
        try DifferentialHarness.check(DifferentialScenario(
            name: "port forward and hairpin NAT",
            recorderFilter: ["--port", "81", "--port", "8081"],
            setup: { lab in
                try lab.exec(lab.router, "nft", "-f", DifferentialScenario.fw4Ruleset)
                try lab.nft("""
                    add rule inet fw4 dstnat iifname "wan0" meta nfproto ipv4 udp dport 8081 dnat ip to 192.0.2.1:81
                    add rule inet fw4 dstnat iifname "lan0" ip daddr \(Self.wan) udp dport 8081 dnat ip to 192.0.2.1:81
                    add rule inet fw4 srcnat oifname "lan0" ip saddr 192.0.2.0/24 ip daddr 192.0.2.1 udp dport 81 ct status dnat snat ip to 192.0.2.254
                    insert rule inet fw4 forward_lan ct status dnat accept
                    """)
                try Self.addSecondLANAddress(lab)
            },
            traffic: { lab in
                try lab.startServer(lab.h1, "udp_echo.py", "81", "4")
                let flows = [
                    try lab.start(lab.h2, "udp_flow.py", Self.wan, "8081", "800", "0.005", "--sport", "40030"),
                    try lab.start(lab.h1, "udp_flow.py", Self.wan, "8081", "800", "0.005", "--sport", "40031",
                                  "--source", "192.0.2.200"),
                ]
                for flow in flows { _ = flow.finish() }
            }))
    }

    /// h1 also has 192.0.2.200 (a second LAN client), with a static neighbour on the router.
    static func addSecondLANAddress(_ lab: DifferentialContext) throws {
        try lab.exec(lab.h1, "ip", "addr", "add", "192.0.2.200/24", "dev", "eth0")
        try lab.exec(lab.router, "ip", "neigh", "replace", "192.0.2.200", "lladdr", try lab.mac(lab.h1, "eth0"),
                     "dev", "lan0", "nud", "permanent")
    }

    /// IPv6 through the router: one flow routed as is, one masqueraded
    /// (an IPv6 masquerade rule for its port only).
    func testIPv6WithAndWithoutNAT() throws {
        try DifferentialHarness.check(DifferentialScenario(
            name: "IPv6 with and without NAT",
            recorderFilter: ["--port", "7500", "--port", "7501"],
            setup: { lab in
                try lab.exec(lab.router, "nft", "-f", DifferentialScenario.fw4Ruleset)
                try lab.exec(lab.router, "nft", "add rule inet fw4 srcnat oifname \"wan0\" meta nfproto ipv6 udp dport 7501 masquerade")
            },
            traffic: { lab in
                for port in ["7500", "7501"] { try lab.startServer(lab.h2, "udp_echo.py", port, "6") }
                let flows = try [("7500", "40040"), ("7501", "40041")].map { port, sport in
                    try lab.start(lab.h1, "udp_flow.py", NamespaceLab.h2IPv6, port, "800", "0.005", "--sport", sport)
                }
                for flow in flows { _ = flow.finish() }
            }))
    }

    /// A masqueraded flow (IPv4) and a routed one (IPv6) are offloaded with
    /// small datagrams, then send 3000-byte datagrams that h1 fragments
    /// (and h2's echoes are fragmented too). Fragments are the kernel's.
    func testFragmentsOfOffloadedFlows() throws {
        try DifferentialHarness.check(DifferentialScenario(
            name: "fragments of offloaded flows",
            recorderFilter: ["--port", "7510", "--port", "7511"],
            setup: { lab in try lab.exec(lab.router, "nft", "-f", DifferentialScenario.fw4Ruleset) },
            traffic: { lab in
                try lab.startServer(lab.h2, "udp_echo.py", "7510", "4")
                try lab.startServer(lab.h2, "udp_echo.py", "7511", "6")
                let targets = [(NamespaceLab.h2IPv4, "7510", "40042"), (NamespaceLab.h2IPv6, "7511", "40043")]
                for (size, count) in [("64", "700"), ("3000", "150")] {
                    let flows = try targets.map { host, port, sport in
                        try lab.start(lab.h1, "udp_flow.py", host, port, count, "0.005", "--sport", sport, "--size", size)
                    }
                    for flow in flows { _ = flow.finish() }
                }
            }))
    }
}
