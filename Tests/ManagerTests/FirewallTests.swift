import Foundation
import XCTest
import LabSupport

/// Policy conntrack end to end: the real daemon on a router with an
/// nftables ruleset shaped like OpenWrt fw4's default (lan → wan accepted,
/// wan → lan only established/related, masquerade, a port forward
/// wan:8080 → h1:80). Offloaded flows must arrive intact and NATed, and
/// whatever the firewall drops must stay dropped.
final class FirewallTests: XCTestCase {
    var manager: ManagerLab!
    var lab: NamespaceLab { manager.lab }
    var background: [BackgroundCommand] = []

    static let config = """
        config globals 'globals'
        \toption mode 'native'
        \toption policy 'conntrack'
        \toption valve_timeout '2'

        config interface 'lan'
        \toption device 'lan0'

        config interface 'wan'
        \toption device 'wan0'
        \toption wan '1'

        """

    static var traffic: String { repositoryRoot + "/Tests/lab/traffic/" }

    override func setUpWithError() throws {
        manager = try ManagerLab(config: FirewallTests.config)
        try lab.exec(lab.router, "nft", "-f", repositoryRoot + "/Tests/lab/fw4-like.nft")
        try manager.startDaemon()
        try manager.waitForMode("xdp-native")
    }

    override func tearDown() {
        for command in background { command.stop() }
        manager?.destroy()
    }

    // MARK: helpers

    /// A command running in a namespace in the background (a traffic
    /// endpoint); its output is read when it ends.
    final class BackgroundCommand {
        let process = Process()
        let output = Pipe()
        let input = Pipe()

        init(namespace: String, _ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ip", "netns", "exec", namespace] + arguments
            process.standardOutput = output
            process.standardError = output
            process.standardInput = input
            try process.run()
        }

        /// Writes a line to the command's standard input.
        func send(_ line: String) {
            input.fileHandleForWriting.write(Data((line + "\n").utf8))
        }

        /// Reads until the first line (e.g. "listening"), so the endpoint is ready.
        func firstLine() -> String {
            var line = Data()
            while true {
                let byte = output.fileHandleForReading.readData(ofLength: 1)
                if byte.isEmpty || byte == Data("\n".utf8) { break }
                line.append(byte)
            }
            return String(decoding: line, as: UTF8.self)
        }

        func finish() -> String {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    func start(_ namespace: String, _ script: String, _ arguments: String...) throws -> BackgroundCommand {
        let command = try BackgroundCommand(namespace: namespace, ["/usr/bin/python3", FirewallTests.traffic + script] + arguments)
        background.append(command)
        return command
    }

    /// The UDP echo server, once it is listening.
    func startEcho(_ namespace: String, _ port: String, _ family: String) throws -> BackgroundCommand {
        let echo = try start(namespace, "udp_echo.py", port, family)
        XCTAssertEqual(echo.firstLine(), "listening")
        return echo
    }

    /// An echo server on h2 and a UDP stream from h1 to it (a datagram
    /// every 5 ms), returned once the fast path carries it. The stream runs
    /// until stopped: `stop()` to drop it, or `finish(_:)` for its tally.
    func offloadedStream(to host: String, port: Int) throws -> BackgroundCommand {
        _ = try startEcho(lab.h2, "\(port)", host.contains(":") ? "6" : "4")
        let stream = try start(lab.h1, "udp_stream.py", host, "\(port)", "3600", "0.005")
        try manager.waitFor("the flow to be offloaded", seconds: 15) { try forwarded("lan0") > 50 }
        return stream
    }

    /// A long-running udp_stream.py stopped with SIGINT: it sends no more,
    /// waits up to 3 s for the last echoes and prints its tally.
    func finish(_ stream: BackgroundCommand) -> StreamResult {
        stream.process.interrupt()
        return StreamResult(stream.finish())
    }

    /// What udp_stream.py reported.
    struct StreamResult: CustomStringConvertible {
        var sent = 0, echoed = 0, corrupt = -1
        var description: String

        init(_ text: String) {
            description = text
            let words = text.split(separator: " ")
            guard words.count == 6 else { return }
            sent = Int(words[1]) ?? 0
            echoed = Int(words[3]) ?? 0
            corrupt = Int(words[5]) ?? -1
        }

        /// Every datagram came back, byte for byte, and nothing else did.
        var isComplete: Bool { sent > 0 && echoed == sent && corrupt == 0 }
    }

    func stream(_ namespace: String, to host: String, port: Int, seconds: String, interval: String) throws -> StreamResult {
        StreamResult(try python(namespace, "udp_stream.py", host, "\(port)", seconds, interval))
    }

    func python(_ namespace: String, _ script: String, _ arguments: String...) throws -> String {
        try lab.exec(namespace, arguments: ["/usr/bin/python3", FirewallTests.traffic + script] + arguments)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func forwarded(_ device: String) throws -> UInt64 {
        try manager.status()[device]?.forwardedPackets ?? 0
    }

    func forwardedBytes(_ device: String) throws -> UInt64 {
        try manager.status()[device]?.forwardedBytes ?? 0
    }

    /// The mirrored flow directions (entries of the pinned fp_flows map).
    func mirroredFlowCount() throws -> Int {
        let text = try Shell.run(["bpftool", "-j", "map", "dump", "pinned", manager.pinDirectory + "/fp_flows"])
        let entries = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any]
        return entries?.count ?? 0
    }

    /// Sends `bytes` over TCP from `client` to `host:port` (a sink listening
    /// in `server`) and returns (sent sha256, received sha256, peer address).
    /// The bulk follows once the fast path carries the connection's trickle
    /// into `ingress`: admission waits for packets that pass the firewall
    /// after the daemon listed the connection, and a bulk over veth can end
    /// before that on a busy machine.
    func transfer(from client: String, to server: String, host: String, listenPort: Int, connectPort: Int,
                  family: String, ingress: String, bytes: Int = 8 << 20) throws -> (sent: String, received: String, peer: String) {
        let sink = try start(server, "tcp_sink.py", "\(listenPort)", family)
        XCTAssertEqual(sink.firstLine(), "listening")
        let before = try forwarded(ingress)
        let source = try start(client, "tcp_source.py", host, "\(connectPort)", "\(bytes)")
        XCTAssertEqual(source.firstLine(), "connected")
        try manager.waitFor("the connection in the fast path", seconds: 10) { try forwarded(ingress) > before + 5 }
        source.send("bulk")
        let sent = source.finish()
        let result = sink.finish().split(separator: " ").map(String.init)
        return (sent, result.first ?? "", result.count > 1 ? result[1] : "")
    }

    // MARK: 1. TCP and UDP through the masquerade

    func testTCPThroughTheMasqueradeIsOffloadedAndIntact() throws {
        for (host, family) in [(NamespaceLab.h2IPv4, "4"), (NamespaceLab.h2IPv6, "6")] {
            let before = try forwardedBytes("lan0")
            let bytes = 8 << 20
            let (sent, received, peer) = try transfer(from: lab.h1, to: lab.h2, host: host, listenPort: 5201,
                                                      connectPort: 5201, family: family, ingress: "lan0", bytes: bytes)
            XCTAssertEqual(received, sent, "IPv\(family): 8 MB arrive intact")
            XCTAssertEqual(peer, family == "4" ? NamespaceLab.wanIPv4 : NamespaceLab.h1IPv6,
                           "IPv4 leaves as the router's WAN address; IPv6 is not NATed")
            // Bytes, not packets: in TC mode GRO batches segments into fewer
            // skbs the more loaded the machine. The trickle before the bulk
            // (kernel path) is at most ~1 MB, so the bulk is ≥ 3/4 of it.
            let carried = try forwardedBytes("lan0") - before
            XCTAssertGreaterThanOrEqual(carried, UInt64(bytes / 4 * 3),
                                        "IPv\(family): the fast path carried the bulk, not just the handshake\n"
                                        + "\((try? manager.fastpath("status"))?.stdout ?? "")\n\(manager.daemonLog)")
        }
    }

    /// The same through the TC program (drivers without native XDP): GRO
    /// hands it aggregated TCP skbs whose checksum is CHECKSUM_PARTIAL, and
    /// the NAT must keep them right as it does single frames.
    func testTCPThroughTheMasqueradeInTCModeIsOffloadedAndIntact() throws {
        try manager.writeConfig(FirewallTests.config.replacingOccurrences(of: "option mode 'native'", with: "option mode 'tc'"))
        XCTAssertEqual(try manager.fastpath("reload").status, 0)
        try manager.waitForMode("tc")
        try testTCPThroughTheMasqueradeIsOffloadedAndIntact()
    }

    func testUDPThroughTheMasqueradeIsOffloaded() throws {
        for (host, family) in [(NamespaceLab.h2IPv4, "4"), (NamespaceLab.h2IPv6, "6")] {
            let echo = try startEcho(lab.h2, "7000", family)
            let before = try forwarded("lan0")
            // runs until the fast path has carried 100 datagrams (offloaded once ASSURED)
            let running = try start(lab.h1, "udp_stream.py", host, "7000", "3600", "0.005")
            try manager.waitFor("IPv\(family): the flow offloaded once ASSURED", seconds: 15) {
                try forwarded("lan0") - before > 100
            }
            let result = finish(running)
            XCTAssertTrue(result.isComplete, "IPv\(family): every datagram echoed intact: \(result)")
            echo.stop()
            XCTAssertTrue(echo.finish().contains(family == "4" ? NamespaceLab.wanIPv4 : NamespaceLab.h1IPv6))
        }
    }

    // MARK: 2. the port forward

    func testPortForwardIsOffloaded() throws {
        let before = try forwarded("wan0")
        let (sent, received, peer) = try transfer(from: lab.h2, to: lab.h1, host: NamespaceLab.wanIPv4,
                                                  listenPort: 80, connectPort: 8080, family: "4", ingress: "wan0")
        XCTAssertEqual(received, sent, "wan:8080 → h1:80 intact")
        XCTAssertEqual(peer, NamespaceLab.h2IPv4)
        XCTAssertGreaterThan(try forwarded("wan0") - before, 1000, "the forwarded port rode the fast path")
    }

    // MARK: 3. what the firewall drops stays dropped

    func testNewConnectionsFromWANStayDropped() throws {
        try assertWANCannotReachLAN()
    }

    func assertWANCannotReachLAN(file: StaticString = #filePath, line: UInt = #line) throws {
        for (address, family) in [(NamespaceLab.h1IPv4, "4"), (NamespaceLab.h1IPv6, "6")] {
            let sink = try start(lab.h1, "tcp_sink.py", "2222", family, "2")
            XCTAssertEqual(sink.firstLine(), "listening")
            let attempt = try Shell.result(["ip", "netns", "exec", lab.h2, "/usr/bin/python3", "-c",
                                            "import socket; socket.create_connection(('\(address)', 2222), timeout=1)"])
            XCTAssertNotEqual(attempt.status, 0, "IPv\(family) TCP SYN from wan must not connect", file: file, line: line)
            XCTAssertEqual(sink.finish(), "timeout", "IPv\(family): nothing reached h1", file: file, line: line)

            let echo = try startEcho(lab.h1, "7001", family)
            let result = try stream(lab.h2, to: address, port: 7001, seconds: "0.5", interval: "0.01")
            XCTAssertTrue(result.sent > 0 && result.echoed == 0, "IPv\(family) UDP from wan dropped: \(result)",
                          file: file, line: line)
            echo.stop()
            XCTAssertEqual(echo.finish(), "", "IPv\(family): h1 received no datagram", file: file, line: line)
        }
    }

    // MARK: 4. short conntrack timeouts

    func testAFlowLongerThanTheConntrackTimeoutIsKeptAlive() throws {
        try lab.exec(lab.router, "sysctl", "-qw", "net.netfilter.nf_conntrack_udp_timeout=2",
                     "net.netfilter.nf_conntrack_udp_timeout_stream=3")
        let echo = try startEcho(lab.h2, "7002", "4")
        _ = echo
        let before = try forwarded("lan0")
        let running = try start(lab.h1, "udp_stream.py", NamespaceLab.h2IPv4, "7002", "3600", "0.02")
        try manager.waitFor("the flow to be offloaded", seconds: 15) { try forwarded("lan0") > before + 50 }
        // 9 s in the fast path, three times the timeout: the kernel sees none of it
        let offloaded = try forwarded("lan0")
        Thread.sleep(forTimeInterval: 9)
        XCTAssertGreaterThan(try forwarded("lan0") - offloaded, 200, "the fast path carried the flow throughout")
        let entries = try lab.exec(lab.router, "conntrack", "-L", "-p", "udp", "--dport", "7002")
        XCTAssertEqual(entries.split(separator: "\n").filter { $0.contains("dport=7002") }.count, 1,
                       "one conntrack entry, alive through 9 s of a 3 s timeout:\n\(entries)")
        let result = finish(running)
        XCTAssertTrue(result.isComplete, "never cut off: \(result)")
    }

    // MARK: 5. conntrack -D

    func testDeletingTheConntrackEntryTakesTheFlowOffTheFastPath() throws {
        let echo = try startEcho(lab.h2, "7003", "4")
        _ = echo
        let running = try start(lab.h1, "udp_stream.py", NamespaceLab.h2IPv4, "7003", "3600", "0.01")
        try manager.waitFor("the flow to be mirrored", seconds: 15) { try mirroredFlowCount() > 0 }
        _ = finish(running) // the flow is idle when its entry goes
        try lab.exec(lab.router, "conntrack", "-D", "-p", "udp", "--dport", "7003")
        let deleted = Date()
        // Measured, not asserted beyond a generous bound: the machine is shared.
        try manager.waitFor("the flow to leave the fast path", seconds: 5) { try mirroredFlowCount() == 0 }
        print("conntrack -D → off the fast path in \(Int(Date().timeIntervalSince(deleted) * 1000)) ms")
    }

    // MARK: a firewall ruleset change

    /// A rule added while a flow runs in the fast path applies to it at
    /// once: the flow goes back to the kernel, which drops it, and it never
    /// returns, not even through a restarted daemon.
    func testARulesetChangeAppliesToOffloadedFlows() throws {
        try countUDP(toPort: 7007, in: lab.h2)
        let stream = try offloadedStream(to: NamespaceLab.h2IPv4, port: 7007)
        XCTAssertGreaterThan(try mirroredFlowCount(), 0)

        try lab.exec(lab.router, "nft", "insert rule inet fw4 forward udp dport 7007 counter drop")
        try manager.waitFor("the flow to leave the fast path", seconds: 5) { try mirroredFlowCount() == 0 }
        let delivered = try assertTheKernelDropsTheStream(morePacketsThan: 100)
        XCTAssertEqual(try mirroredFlowCount(), 0, "the flow is not offloaded again")
        XCTAssertTrue(manager.daemonLog.contains("firewall ruleset changed"), manager.daemonLog)

        // A daemon restarted meanwhile keeps holding what its predecessor held.
        manager.killDaemon()
        try manager.startDaemon()
        let droppedAfterRestart = try packetCounter(lab.router, "fw4", "forward")
        try manager.waitFor("the kernel to drop more of the stream", seconds: 5) {
            try packetCounter(lab.router, "fw4", "forward") > droppedAfterRestart + 300
        }
        XCTAssertEqual(try mirroredFlowCount(), 0, "a restarted daemon does not offload the held flow")
        XCTAssertEqual(try packetCounter(lab.h2, "count", "input"), delivered, "nothing reaches h2")
        stream.stop()
    }

    /// A change made while no daemon runs: the flows the last daemon left
    /// in the pinned flow table were admitted under the old rules, so the
    /// next daemon starts them again in the kernel path.
    func testARulesetChangeWhileNoDaemonRunsIsNoticedAtStart() throws {
        try countUDP(toPort: 7009, in: lab.h2)
        let stream = try offloadedStream(to: NamespaceLab.h2IPv4, port: 7009)
        manager.killDaemon()
        try lab.exec(lab.router, "nft", "insert rule inet fw4 forward udp dport 7009 counter drop")
        try manager.startDaemon()
        try manager.waitFor("the stale flow entries to go", seconds: 5) { try mirroredFlowCount() == 0 }
        try assertTheKernelDropsTheStream(morePacketsThan: 200)
        XCTAssertTrue(manager.daemonLog.contains("firewall ruleset changed since flows were admitted"), manager.daemonLog)
        stream.stop()
    }

    /// After a rule that drops a running stream: the kernel's forward chain
    /// drops more than `count` further packets of it while the fast path
    /// carries none and nothing reaches h2. Returns h2's delivered count.
    @discardableResult
    func assertTheKernelDropsTheStream(morePacketsThan count: Int,
                                       file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let offloaded = try forwarded("lan0")
        let delivered = try packetCounter(lab.h2, "count", "input")
        let dropped = try packetCounter(lab.router, "fw4", "forward")
        try manager.waitFor("the kernel to drop the stream", seconds: 5) {
            try packetCounter(lab.router, "fw4", "forward") > dropped + count
        }
        XCTAssertEqual(try forwarded("lan0"), offloaded, "the fast path carries nothing under the new rules",
                       file: file, line: line)
        XCTAssertEqual(try packetCounter(lab.h2, "count", "input"), delivered, "nothing reaches h2",
                       file: file, line: line)
        return delivered
    }

    /// A ruleset change that still lets a flow through (an fw4 reload that
    /// changes nothing, a rule for other traffic) takes it off the fast path
    /// only until the kernel has forwarded a packet of each direction under
    /// the new rules.
    func testAFlowTheNewRulesAcceptReturnsToTheFastPath() throws {
        let stream = try offloadedStream(to: NamespaceLab.h2IPv4, port: 7008)
        XCTAssertEqual(try mirroredFlowCount(), 2, "both directions")

        let notOffloaded = try manager.status()["lan0"]?.passed["not_offloaded"] ?? 0
        try lab.exec(lab.router, "nft", "add rule inet fw4 forward_wan tcp dport 9999 drop")
        try manager.waitFor("the kernel to carry the flow", seconds: 5) {
            (try manager.status()["lan0"]?.passed["not_offloaded"] ?? 0) > notOffloaded
        }
        let offloaded = try forwarded("lan0")
        try manager.waitFor("the flow back in the fast path", seconds: 5) {
            try mirroredFlowCount() == 2 && forwarded("lan0") > offloaded + 50
        }
        let result = finish(stream)
        XCTAssertTrue(result.isComplete, "nothing lost on the way out and back: \(result)")
    }

    /// Counts UDP packets to `port` arriving in `namespace` (table inet count).
    func countUDP(toPort port: Int, in namespace: String) throws {
        try lab.exec(namespace, "nft", "add table inet count; add chain inet count input { type filter hook input priority 0; };"
                     + " add rule inet count input udp dport \(port) counter")
    }

    /// The packets counted by the first `counter` of `table`'s `chain`.
    func packetCounter(_ namespace: String, _ table: String, _ chain: String) throws -> Int {
        let text = try lab.exec(namespace, "nft", "list", "chain", "inet", table, chain)
        guard let range = text.range(of: "counter packets ") else { throw ManagerLab.Failure("no counter in \(table) \(chain):\n\(text)") }
        return Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    // MARK: 6. a dead manager

    func testAfterTheManagerDiesTheValvePassesEverythingToTheKernel() throws {
        let echo = try startEcho(lab.h2, "7004", "4")
        _ = echo
        let first = try start(lab.h1, "udp_stream.py", NamespaceLab.h2IPv4, "7004", "3600", "0.01")
        try manager.waitFor("the flow to be mirrored", seconds: 15) { try mirroredFlowCount() > 0 }
        _ = finish(first)
        manager.killDaemon()
        // A flow keeps running across the valve time (2 s), until the valve has passed 50 of its packets: nothing lost.
        let running = try start(lab.h1, "udp_stream.py", NamespaceLab.h2IPv4, "7004", "3600", "0.01")
        var valve: UInt64 = 0
        try? manager.waitFor("the valve to pass the flow to the kernel", seconds: 15) {
            valve = try manager.status()["lan0"]?.passed["valve"] ?? 0
            return valve > 50
        }
        let result = finish(running)
        XCTAssertTrue(result.isComplete, "no datagram lost: \(result)")
        XCTAssertGreaterThan(valve, 50, "after the valve time the kernel carries the flow")
        try assertWANCannotReachLAN()
    }

    // MARK: a restarted manager

    /// A flow entry conntrack knows nothing of (left by a dead daemon) must
    /// not keep forwarding once a daemon is back.
    func testARestartedManagerDropsFlowEntriesConntrackNoLongerHas() throws {
        manager.killDaemon()
        var key = [UInt8](repeating: 0, count: 44)
        key[10] = 0xff; key[11] = 0xff; key[12] = 203; key[13] = 0; key[14] = 113; key[15] = 7 // src ::ffff:203.0.113.7
        key[26] = 0xff; key[27] = 0xff; key[28] = 192; key[29] = 0; key[30] = 2; key[31] = 1  // dst ::ffff:192.0.2.1
        key[32] = 0x1f; key[33] = 0x90; key[34] = 0x00; key[35] = 0x16                       // 8080 → 22
        key[36] = UInt8(try lab.ifindex(lab.router, "wan0")); key[40] = 6; key[41] = 4         // ingress, TCP, IPv4
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) } }
        try Shell.run(["bpftool", "map", "update", "pinned", manager.pinDirectory + "/fp_flows", "key", "hex"] + hex(key)
                      + ["value", "hex"] + hex([UInt8](repeating: 0, count: 104)))
        XCTAssertEqual(try mirroredFlowCount(), 1)
        try manager.startDaemon()
        try manager.waitFor("the stale entry to be removed", seconds: 5) { try mirroredFlowCount() == 0 }
        try assertWANCannotReachLAN()
    }

    // MARK: a full flow table

    /// With room for one flow (two directions), later flows stay in the
    /// kernel path, are counted, and still work.
    func testAFullFlowTableLeavesNewFlowsInTheKernel() throws {
        manager.killDaemon()
        _ = try manager.fastpath("detach")
        try manager.writeConfig(FirewallTests.config.replacingOccurrences(
            of: "option valve_timeout '2'", with: "option valve_timeout '2'\n\toption max_flows '2'"))
        try manager.startDaemon()
        try manager.waitForMode("xdp-native")
        // Each stream runs until its fate is known: the first until it fills
        // the table, the second until the daemon finds no room for it, the
        // third until it is ASSURED and a heartbeat and more have passed.
        for port in 7010..<7013 {
            let echo = try startEcho(lab.h2, "\(port)", "4")
            _ = echo
            let running = try start(lab.h1, "udp_stream.py", NamespaceLab.h2IPv4, "\(port)", "3600", "0.01")
            switch port {
            case 7010:
                try? manager.waitFor("the first flow in the table", seconds: 15) { try mirroredFlowCount() == 2 }
            case 7011:
                try? manager.waitFor("the table to be full", seconds: 15) { manager.daemonLog.contains("flow table full") }
            default:
                try? manager.waitFor("the flow ASSURED", seconds: 15) {
                    try lab.exec(lab.router, "conntrack", "-L", "-p", "udp", "--dport", "\(port)").contains("ASSURED")
                }
                Thread.sleep(forTimeInterval: 1.5)
            }
            let result = finish(running)
            XCTAssertTrue(result.isComplete, "flow \(port) fully delivered: \(result)")
        }
        XCTAssertEqual(try mirroredFlowCount(), 2, "one flow, both directions")
        XCTAssertTrue(manager.daemonLog.contains("flow table full"), manager.daemonLog)
    }

    /// The size the pinned flow table has now.
    func flowTableSize() throws -> Int {
        let text = try Shell.run(["bpftool", "-j", "map", "show", "pinned", manager.pinDirectory + "/fp_flows"])
        let info = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return info?["max_entries"] as? Int ?? -1
    }

    /// `max_flows` changes apply on reload (the daemon starts afresh in
    /// place, same pid) and on restart (no "pinned map has another shape"
    /// loop): the flow table takes the new size, the admitted flows come
    /// along, the attached programs move onto the new maps, and a running
    /// flow stays in the fast path and intact throughout.
    func testMaxFlowsChangesApplyOnReloadAndRestartKeepingOffloadedFlows() throws {
        // Long enough for the slowest machine; stopped (SIGINT) once the checks are done.
        let stream = try offloadedStream(to: NamespaceLab.h2IPv4, port: 7020)
        XCTAssertEqual(try mirroredFlowCount(), 2)
        let pid = manager.daemonPID
        try manager.writeConfig(FirewallTests.config.replacingOccurrences(
            of: "option valve_timeout '2'", with: "option valve_timeout '2'\n\toption max_flows '2048'"))
        XCTAssertEqual(try manager.fastpath("reload").status, 0)
        try manager.waitFor("the table to be resized on reload", seconds: 8) { try flowTableSize() == 2048 }
        XCTAssertEqual(manager.daemonPID, pid, "same process")
        XCTAssertTrue(manager.daemon?.isRunning ?? false, manager.daemonLog)
        XCTAssertEqual(try mirroredFlowCount(), 2, "the admitted flow came along\n\(manager.daemonLog)")
        var before = try forwarded("lan0")
        try manager.waitFor("the fast path to carry on after the reload") { try forwarded("lan0") > before + 50 }

        manager.killDaemon()
        try manager.writeConfig(FirewallTests.config.replacingOccurrences(
            of: "option valve_timeout '2'", with: "option valve_timeout '2'\n\toption max_flows '4096'"))
        try manager.startDaemon()
        try manager.waitFor("the table to be resized on restart", seconds: 8) { try flowTableSize() == 4096 }
        try manager.waitForMode("xdp-native")
        XCTAssertTrue(manager.daemon?.isRunning ?? false, manager.daemonLog)
        XCTAssertEqual(try mirroredFlowCount(), 2, "the admitted flow came along\n\(manager.daemonLog)")
        before = try forwarded("lan0")
        try manager.waitFor("the fast path to carry on after the restart") { try forwarded("lan0") > before + 50 }
        XCTAssertTrue(manager.daemonLog.contains("attached programs that used the old maps"), manager.daemonLog)
        let result = finish(stream)
        XCTAssertTrue(result.isComplete, "every datagram echoed intact: \(result)")
    }

    // MARK: the next-hop cache follows the kernel's routing

    /// A second link r:wan1 – h2:eth1 (no addresses; IPv6 link-local
    /// without duplicate address detection, so it answers at once). The
    /// router's input chain lets neighbour discovery in from it; the
    /// forward rules stay as they are (lan → wan0 only).
    func addSecondLink() throws {
        try lab.exec(lab.router, "nft", "insert rule inet fw4 input iifname \"wan1\" meta l4proto ipv6-icmp accept")
        try Shell.run(["ip", "link", "add", "wan1", "netns", lab.router, "type", "veth", "peer", "name", "eth1",
                       "netns", lab.h2])
        try lab.exec(lab.h2, "sysctl", "-qw", "net.ipv6.conf.eth1.accept_dad=0",
                     "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth1.rp_filter=0")
        try lab.exec(lab.router, "sysctl", "-qw", "net.ipv6.conf.wan1.accept_dad=0")
        try lab.exec(lab.h2, "ethtool", "-K", "eth1", "tx", "off", "gro", "on")
        try lab.exec(lab.h2, "ip", "link", "set", "eth1", "up")
        try lab.exec(lab.router, "ip", "link", "set", "wan1", "up")
    }

    /// h2's link-local address on eth1.
    func linkLocalOfEth1() throws -> String {
        let text = try lab.exec(lab.h2, "ip", "-6", "-o", "addr", "show", "dev", "eth1", "scope", "link")
        guard let word = text.split(separator: " ").first(where: { $0.hasPrefix("fe80:") }) else {
            throw ManagerLab.Failure("no link-local address on eth1: \(text)")
        }
        return String(word.split(separator: "/")[0])
    }

    /// Packets of an offloaded flow carry a cached next hop; a route change
    /// must take effect on the next packet after the netlink event. The
    /// route to h2 moves onto a second link. (IPv6: no NAT, so the kernel
    /// itself carries an established flow onto the new link as well.)
    func testARouteChangeMovesARunningOffloadedFlow() throws {
        try addSecondLink()
        let gateway = try linkLocalOfEth1()
        let stream = try offloadedStream(to: NamespaceLab.h2IPv6, port: 7006)
        let before = try received(on: "eth1")
        try lab.exec(lab.router, "ip", "-6", "route", "replace", NamespaceLab.h2IPv6 + "/128", "via", gateway, "dev", "wan1")
        try manager.waitFor("packets on the new path", seconds: 5) { try received(on: "eth1") > before + 20 }
        let offloadedBefore = try forwarded("lan0")
        try manager.waitFor("the fast path to carry them", seconds: 5) { try forwarded("lan0") > offloadedBefore + 20 }
        let result = finish(stream)
        // The packet that meets the new route first is passed to the kernel
        // to resolve the neighbour.
        XCTAssertEqual(result.corrupt, 0, "\(result)")
        XCTAssertGreaterThanOrEqual(result.echoed * 100, result.sent * 98, "the stream survives the route change: \(result)")
    }

    /// A masqueraded flow whose route moves to another interface: the kernel
    /// drops its packets and kills the connection (the translation belonged
    /// to the old interface), and lan → wan1 is no forward the firewall
    /// allows. The fast path must not carry it out of the new interface.
    func testAMasqueradedFlowIsNotCarriedOutOfAnotherInterface() throws {
        try addSecondLink()
        try countUDP(toPort: 7016, in: lab.h2)
        let stream = try offloadedStream(to: NamespaceLab.h2IPv4, port: 7016)
        // The neighbour on the new link is known: the lookup succeeds at once.
        let eth1MAC = try lab.exec(lab.h2, "cat", "/sys/class/net/eth1/address").trimmingCharacters(in: .whitespacesAndNewlines)
        try lab.exec(lab.router, "ip", "neigh", "replace", NamespaceLab.h2IPv4, "lladdr", eth1MAC, "dev", "wan1",
                     "nud", "permanent")
        try lab.exec(lab.router, "ip", "route", "replace", NamespaceLab.h2IPv4 + "/32", "dev", "wan1")
        try manager.waitFor("the kernel to have the flow", seconds: 5) {
            try mirroredFlowCount() == 0 || (manager.status()["lan0"]?.passed["egress_changed"] ?? 0) > 0
        }
        usleep(300_000) // what was in flight arrives
        let offloaded = try forwarded("lan0")
        let delivered = try packetCounter(lab.h2, "count", "input")
        usleep(1_500_000)
        XCTAssertEqual(try forwarded("lan0"), offloaded, "the fast path carries nothing out of wan1")
        XCTAssertEqual(try packetCounter(lab.h2, "count", "input"), delivered, "nothing reaches h2, as without fastpath")
        stream.stop()
    }

    /// UDP packets h2's `device` received (ip -s link).
    func received(on device: String) throws -> Int {
        let text = try lab.exec(lab.h2, "cat", "/sys/class/net/\(device)/statistics/rx_packets")
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    // MARK: how fast a flow enters the fast path

    /// Prints the time from the conntrack entry turning ASSURED to the first
    /// packet carried by the fast path (for the issue note; not asserted).
    func testTimeFromAssuredToFastPath() throws {
        let echo = try startEcho(lab.h2, "7005", "4")
        _ = echo
        let stream = try start(lab.h1, "udp_stream.py", NamespaceLab.h2IPv4, "7005", "10", "0.002")
        var assuredAt: Date?
        var offloadedAt: Date?
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && offloadedAt == nil {
            if assuredAt == nil {
                let entries = try lab.exec(lab.router, "conntrack", "-L", "-p", "udp", "--dport", "7005")
                if entries.contains("ASSURED") { assuredAt = Date() }
            } else if try forwarded("lan0") > 0 {
                offloadedAt = Date()
            }
        }
        _ = stream.finish()
        let assured = try XCTUnwrap(assuredAt, "the flow became ASSURED")
        let offloaded = try XCTUnwrap(offloadedAt, "the fast path carried it")
        print("ASSURED → first fast-path packet: \(Int(offloaded.timeIntervalSince(assured) * 1000)) ms (upper bound: polling)")
    }
}
