import Foundation
import XCTest
import LabSupport

/// The kernel is the oracle: routing scenarios (policy routing, multi-WAN,
/// reverse-path checks), run with the kernel alone and with fastpath.
final class DifferentialRoutingTests: XCTestCase {
    static let h1 = NamespaceLab.h1IPv4, h2 = NamespaceLab.h2IPv4
    /// An "internet" address both WAN hosts (h2, h3) answer on.
    static let internet = "100.64.0.1"

    /// mwan3-style multi-WAN: masquerade on wan0 and wan1, default route via
    /// wan0; a source rule (192.0.2.0/25 → table 100 → wan1) and a fwmark
    /// rule (nft marks udp dport 6001 in prerouting, fwmark 0x100 → table
    /// 101 → wan1) and a port rule (udp dport 6003 → table 100). Four flows:
    /// by source, by mark, by port, and one the main table routes. Which WAN host gets what, from which source, must match.
    func testPolicyRoutingMultiWAN() throws {
        try DifferentialHarness.check(DifferentialScenario(
            name: "multi-WAN source, fwmark and port rules",
            config: DifferentialScenario.conntrackConfig(wans: ["wan0", "wan1"]),
            secondWAN: true,
            recorderFilter: ["--port", "6000", "--port", "6001", "--port", "6002", "--port", "6003"],
            setup: { lab in
                try lab.exec(lab.router, "nft", "-f", DifferentialScenario.fw4Ruleset)
                try lab.nft("""
                    add rule inet fw4 forward_lan oifname "wan1" accept
                    add rule inet fw4 srcnat oifname "wan1" meta nfproto ipv4 masquerade
                    add chain inet fw4 mangle_prerouting { type filter hook prerouting priority mangle; policy accept; }
                    add rule inet fw4 mangle_prerouting iifname "lan0" udp dport 6001 meta mark set 0x100
                    """)
                let h1MAC = try lab.mac(lab.h1, "eth0")
                try lab.sh(lab.router, """
                    ip route add default via 198.51.100.2
                    ip route add default via 203.0.113.2 dev wan1 table 100
                    ip route add default via 203.0.113.2 dev wan1 table 101
                    ip rule add from 192.0.2.0/25 lookup 100
                    ip rule add fwmark 0x100 lookup 101
                    ip rule add ipproto udp dport 6003 lookup 100
                    ip neigh replace 192.0.2.200 lladdr \(h1MAC) dev lan0 nud permanent
                    """)
                try lab.exec(lab.h1, "ip", "addr", "add", "192.0.2.200/24", "dev", "eth0")
                try Self.addInternet(lab)
            },
            oracleCheck: { kernel in
                // the source, mark and port rules send three of the four flows to h3
                kernel.packets(on: "h3") == 3 * 800 && kernel.packets(on: "h2") == 800 ? nil : "the rules did not apply as meant"
            },
            traffic: { lab in
                for host in [lab.h2, lab.h3] {
                    for port in ["6000", "6001", "6002", "6003"] { try lab.startServer(host, "udp_echo.py", port, "4", Self.internet) }
                }
                let flows = try [("6000", "40010", "192.0.2.1"), ("6001", "40011", "192.0.2.200"),
                                 ("6002", "40012", "192.0.2.200"), ("6003", "40013", "192.0.2.200")].map { port, sport, source in
                    try lab.start(lab.h1, "udp_flow.py", Self.internet, port, "800", "0.005", "--sport", sport,
                                  "--source", source)
                }
                for flow in flows { _ = flow.finish() }
            }))
    }

    /// The "internet" address on h2 and h3.
    static func addInternet(_ lab: DifferentialContext) throws {
        for host in [lab.h2, lab.h3] { try lab.exec(host, "ip", "addr", "add", internet + "/32", "dev", "lo") }
    }

    /// ECMP over both WANs (a multipath default route, L4 hash, a fixed hash
    /// seed so both runs hash alike), masquerade on both: eight flows, each
    /// must leave by the WAN the kernel picks for it, with that WAN's source.
    func testECMPMultiWAN() throws {
        let ports = (6100..<6108).map(String.init)
        try DifferentialHarness.check(DifferentialScenario(
            name: "ECMP multi-WAN",
            config: DifferentialScenario.conntrackConfig(wans: ["wan0", "wan1"]),
            secondWAN: true,
            recorderFilter: ports.flatMap { ["--port", $0] },
            setup: { lab in
                try lab.exec(lab.router, "nft", "-f", DifferentialScenario.fw4Ruleset)
                try lab.nft("""
                    add rule inet fw4 forward_lan oifname "wan1" accept
                    add rule inet fw4 srcnat oifname "wan1" meta nfproto ipv4 masquerade
                    """)
                try lab.exec(lab.router, "sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=1",
                             "net.ipv4.fib_multipath_hash_seed=4242")
                try lab.exec(lab.router, "ip", "route", "add", "default", "nexthop", "via", "198.51.100.2", "dev", "wan0",
                             "nexthop", "via", "203.0.113.2", "dev", "wan1")
                try Self.addInternet(lab)
            },
            oracleCheck: { kernel in
                kernel.packets(on: "h2") > 0 && kernel.packets(on: "h3") > 0 ? nil : "the flows did not use both WANs"
            },
            traffic: { lab in
                for host in [lab.h2, lab.h3] {
                    for port in ports { try lab.startServer(host, "udp_echo.py", port, "4", Self.internet) }
                }
                let flows = try ports.enumerated().map { index, port in
                    try lab.start(lab.h1, "udp_flow.py", Self.internet, port, "800", "0.005", "--sport", "\(40100 + index)")
                }
                for flow in flows { _ = flow.finish() }
            }))
    }

    /// Policy routing with rp_filter=1 on the router: frames from h1 with a
    /// spoofed source (no route back), the router's own address, and the
    /// LAN's broadcast address. The kernel forwards none of them.
    func testRoutingPolicyHonoursReversePathAndMartianChecks() throws {
        try DifferentialHarness.check(DifferentialScenario(
            name: "rp_filter and martian sources",
            config: ManagerLab.config(),
            recorderFilter: ["--port", "7200"],
            setup: { lab in
                try lab.exec(lab.router, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1",
                             "net.ipv4.conf.default.rp_filter=1", "net.ipv4.conf.lan0.rp_filter=1",
                             "net.ipv4.conf.wan0.rp_filter=1")
            },
            traffic: { lab in
                let router = try lab.mac(lab.router, "lan0")
                // a control flow the kernel forwards, then the three sources it must not
                for (source, sport) in [(Self.h1, "40029"), ("10.9.9.9", "40030"), (NamespaceLab.wanIPv4, "40031"),
                                        (NamespaceLab.lanIPv4, "40032"), ("192.0.2.255", "40033")] {
                    try lab.python(lab.h1, "raw_send.py", "eth0", router, "udp", "50", "0.002",
                                   source, Self.h2, sport, "7200")
                }
            }))
    }
}
