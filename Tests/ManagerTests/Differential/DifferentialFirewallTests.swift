import Foundation
import XCTest
import LabSupport

/// The kernel is the oracle: firewall and conntrack scenarios under policy
/// conntrack (fw4-like ruleset, masquerade), run with the kernel alone and
/// with fastpath; every host must receive exactly the same.
final class DifferentialFirewallTests: XCTestCase {
    static let h1 = NamespaceLab.h1IPv4, h2 = NamespaceLab.h2IPv4

    /// The reply direction of a UDP flow is dropped by a forward rule ahead
    /// of the established accept; the LAN → WAN direction is accepted. The
    /// kernel delivers no reply to h1: neither may fastpath (conntrack
    /// marks the flow ASSURED before the forward chain drops the reply).
    func testAFlowWhoseRepliesTheFirewallDropsStaysOneWay() throws {
        try DifferentialHarness.check(DifferentialScenario(
            name: "reply direction dropped",
            recorderFilter: ["--port", "5000"],
            setup: { lab in
                try lab.exec(lab.router, "nft", "-f", DifferentialScenario.fw4Ruleset)
                try lab.exec(lab.router, "nft", "insert rule inet fw4 forward iifname \"wan0\" udp sport 5000 drop")
            },
            traffic: { lab in
                try lab.startServer(lab.h2, "udp_echo.py", "5000", "4")
                try lab.python(lab.h1, "udp_flow.py", Self.h2, "5000", "800", "0.005", "--sport", "40000")
            }))
    }

    /// `conntrack -D` of a running flow whose entry was created (and became
    /// ASSURED) before the daemon started, so it has no event extension: the
    /// fast path must stop carrying it within two heartbeats (the daemon
    /// finds the entry gone in its dump). The kernel recreates the entry from
    /// the next packet, so delivery goes on in both runs; the fast path's
    /// forwarded counter, sampled every 50 ms, must stand still for 1 s
    /// starting within that bound. h2 answers only the first 100 datagrams
    /// (enough for ASSURED): an answer in flight as the entry goes would be
    /// dropped as a new connection from the WAN, in either run, at a moment
    /// neither controls.
    ///
    /// The flow sends 600 datagrams (3 s, ASSURED after 2 s), pauses while
    /// the daemon starts, then 1600 more (8 s) for the offload and the
    /// measurement: the same packets in both runs, however slow the machine.
    func testDeletingAConntrackEntryFromBeforeTheDaemonStopsTheFastPath() throws {
        try DifferentialHarness.check(DifferentialScenario(
            name: "conntrack -D of a pre-daemon flow",
            recorderFilter: ["--port", "5001"],
            setup: { lab in try lab.exec(lab.router, "nft", "-f", DifferentialScenario.fw4Ruleset) },
            traffic: { lab in
                try lab.startServer(lab.h2, "udp_echo.py", "5001", "4", "--echo-first", "100")
                let stream = try lab.start(lab.h1, "udp_flow.py", Self.h2, "5001", "2200", "0.005",
                                           "--sport", "40001", "--gate", "600")
                let gated = stream.firstLine()
                guard gated == "gated" else { throw ManagerLab.Failure("udp_flow.py did not reach its gate: \(gated)") }
                // ASSURED before the daemon starts: the daemon can only learn of it from its dump
                try lab.waitForAssured(udpDestinationPort: 5001)
                try lab.attachFastPath()
                stream.send("go")
                try lab.waitForOffload()
                try lab.exec(lab.router, "conntrack", "-D", "-p", "udp", "--dport", "5001")
                try Self.measureStop(lab, after: Date())
                if !stream.process.isRunning { lab.fail("the stream ended before the measurement did: it proves nothing") }
                _ = stream.finish()
            },
            attachesItself: true))
    }

    /// The daemon's heartbeat with the scenarios' valve_timeout 2 (a third of it).
    static let heartbeat = 2.0 / 3

    /// Samples the forwarded counter after `deleted`, each sample timed when
    /// its read returned (a bound on when the count was taken however slow
    /// the read), and finds the sample from which it stands still for 1 s.
    /// Fails if that is later than two heartbeats plus the slowest read (the
    /// sample a read's length after the real stop).
    static func measureStop(_ lab: DifferentialContext, after deleted: Date) throws {
        guard lab.isFastPath else { return }
        var samples: [(time: Double, count: UInt64)] = []
        var slowestRead = 0.0
        var bound: Double { 2 * heartbeat + slowestRead }
        while samples.last.map({ $0.time < bound + 1.2 }) ?? true {
            let asked = Date()
            let count = try lab.forwarded()
            slowestRead = max(slowestRead, Date().timeIntervalSince(asked))
            samples.append((Date().timeIntervalSince(deleted), count))
            usleep(50_000)
        }
        // The first sample from which the counter stays put for 1 s.
        let still = samples.indices.first { i in
            samples[i...].prefix { $0.time <= samples[i].time + 1 }.allSatisfy { $0.count == samples[i].count }
                && samples.last!.time >= samples[i].time + 1
        }
        let window = String(format: "%.1f s", samples.last!.time)
        guard let still else {
            let carried = samples.last!.count - samples.first!.count
            return lab.fail("the fast path kept forwarding after conntrack -D: \(carried) packets in \(window), never still for 1 s")
        }
        // The last packet came before the read of `still` returned.
        let stopped = samples[still].time
        lab.note("conntrack -D → last fast-path packet ≤ \(Int(stopped * 1000)) ms"
                 + " (\(samples.last!.count - samples.first!.count) after the first sample;"
                 + " slowest read \(Int(slowestRead * 1000)) ms)")
        if stopped > bound {
            lab.fail("the fast path carried the deleted flow for \(Int(stopped * 1000)) ms"
                     + " (> 2 heartbeats + slowest read = \(Int(bound * 1000)) ms)")
        }
    }

    /// Segments conntrack calls invalid (fw4 drops `ct state invalid`), to an
    /// established, offloaded TCP flow and to no flow: 20 of each kind. The
    /// crafted ones carry TOS 0x20; only those are recorded.
    func testInvalidTCPIsNotForwarded() throws {
        let kinds = ["tcp-none", "tcp-urg", "tcp-psh", "tcp-doff4", "tcp-beyond"]
        try DifferentialHarness.check(DifferentialScenario(
            name: "invalid TCP",
            recorderFilter: ["--tos", "0x20"],
            setup: { lab in try lab.exec(lab.router, "nft", "-f", DifferentialScenario.fw4Ruleset) },
            traffic: { lab in
                try lab.startServer(lab.h2, "tcp_talk.py", "serve", "7100", "4")
                let talk = try lab.start(lab.h1, "tcp_talk.py", Self.h2, "7100", "8", "0.01", "40020")
                try lab.waitForOffload()
                let router = try lab.mac(lab.router, "lan0")
                for kind in kinds {
                    for (sport, dport) in [("40020", "7100"), ("40021", "7101")] {
                        try lab.python(lab.h1, "raw_send.py", "eth0", router, kind, "20", "0.002",
                                       Self.h1, Self.h2, sport, dport, "--tos", "0x20")
                    }
                }
                talk.stop()
            }))
    }
}

/// A firewall ruleset change while a flow is offloaded (the essence of
/// FirewallTests' ruleset tests, as differential scenarios). The flow sends
/// in two phases around the change, so which packets come before the change
/// is the same in both runs; the pause after it lasts 0.5 s in both runs,
/// and in the fastpath run also until the daemon has withdrawn the flow.
extension DifferentialFirewallTests {
    /// A rule dropping the flow: nothing of phase 2 may arrive.
    func testARulesetChangeDroppingAnOffloadedFlow() throws {
        try DifferentialHarness.check(Self.rulesetChange(
            name: "ruleset change drops an offloaded flow", port: "7700",
            rule: "insert rule inet fw4 forward udp dport 7700 drop"))
    }

    /// An unrelated rule: the flow goes on, all of phase 2 arrives.
    func testARulesetChangeKeepingAnOffloadedFlow() throws {
        try DifferentialHarness.check(Self.rulesetChange(
            name: "ruleset change keeps an offloaded flow", port: "7701",
            rule: "add rule inet fw4 forward_wan tcp dport 9999 drop"))
    }

    static func rulesetChange(name: String, port: String, rule: String) -> DifferentialScenario {
        DifferentialScenario(
            name: name,
            recorderFilter: ["--port", port],
            setup: { lab in try lab.exec(lab.router, "nft", "-f", DifferentialScenario.fw4Ruleset) },
            traffic: { lab in
                try lab.startServer(lab.h2, "udp_echo.py", port, "4")
                try lab.python(lab.h1, "udp_flow.py", Self.h2, port, "800", "0.005", "--sport", "40060")
                if lab.isFastPath, try lab.forwarded() == 0 { lab.fail("the flow was not offloaded before the change") }
                try lab.exec(lab.router, "nft", rule)
                // the daemon withdraws every flow on a ruleset change: phase 2 starts after that, in the kernel path
                try lab.waitForNoMirroredFlows()
                usleep(500_000)
                try lab.python(lab.h1, "udp_flow.py", Self.h2, port, "400", "0.005", "--sport", "40060")
            })
    }
}
