import Foundation
import XCTest
import LabSupport
import FastPathCore
import FastPathKernel

/// End to end: the real embedded `fastpath` binary (`make`) managing the
/// router of the namespace lab, driven only through its command line, with
/// delivery counted at the receiving host and the kernel state read back
/// with `ip`, `tc` and `bpftool`. Each test has its own lab, config, pin and
/// run directories, removed in tearDown even when the test fails.
final class ManagerTests: XCTestCase {
    var manager: ManagerLab!
    var lab: NamespaceLab { manager.lab }

    override func setUpWithError() throws {
        manager = try ManagerLab()
    }

    override func tearDown() {
        manager?.destroy()
        manager = nil
    }

    // MARK: helpers

    /// Ping and UDP h1 → h2 in both families, every packet delivered.
    func assertTrafficDelivered(file: StaticString = #filePath, line: UInt = #line) throws {
        for address in [NamespaceLab.h2IPv4, NamespaceLab.h2IPv6] {
            XCTAssertEqual(try manager.ping(address), 5, "ping \(address)", file: file, line: line)
        }
        for (family, address) in [(UDPProbe.Family.ipv4, NamespaceLab.h2IPv4), (.ipv6, NamespaceLab.h2IPv6)] {
            let delivered = try UDPProbe.deliver(lab: lab, family: family, from: lab.h1, to: lab.h2, toAddress: address)
            XCTAssertEqual(delivered, 200, "UDP \(family) h1 → h2 delivered", file: file, line: line)
        }
    }

    /// Two status reads with traffic in between: the fast path's counters grew
    /// on both interfaces (requests through lan0, replies through wan0).
    func assertCountersGrow(mode: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try manager.status()
        for device in ["lan0", "wan0"] {
            XCTAssertEqual(before[device]?.mode, mode, "\(device) mode", file: file, line: line)
        }
        try assertTrafficDelivered(file: file, line: line)
        let after = try manager.status()
        for device in ["lan0", "wan0"] {
            XCTAssertEqual(after[device]?.mode, mode, "\(device) mode", file: file, line: line)
        }
        let lanGrowth = (after["lan0"]?.forwardedPackets ?? 0) - (before["lan0"]?.forwardedPackets ?? 0)
        let wanGrowth = (after["wan0"]?.forwardedPackets ?? 0) - (before["wan0"]?.forwardedPackets ?? 0)
        // 10 echo requests and 400 datagrams went in on lan0, 10 replies on wan0.
        XCTAssertGreaterThanOrEqual(lanGrowth, 410, "lan0 forwarded_packets growth in \(mode)", file: file, line: line)
        XCTAssertGreaterThanOrEqual(wanGrowth, 10, "wan0 forwarded_packets growth in \(mode)", file: file, line: line)
        XCTAssertGreaterThan(after["lan0"]?.forwardedBytes ?? 0, before["lan0"]?.forwardedBytes ?? 0,
                             "lan0 forwarded_bytes", file: file, line: line)
    }

    /// Replaces `option mode` in the globals and asks the daemon to reload.
    func switchMode(to mode: String) throws {
        try manager.writeConfig(ManagerLab.config(mode: mode))
        let reload = try manager.fastpath("reload")
        XCTAssertEqual(reload.status, 0, "reload to \(mode): \(reload.stderr)")
        try manager.waitForMode(mode == "native" ? "xdp-native" : mode == "generic" ? "xdp-generic" : mode)
    }

    /// A steady UDP stream in both families (a datagram every 2 ms, echoed
    /// by h2) flowing before `body` runs and stopped only after it: however
    /// long the body takes, every datagram must come back. The stream runs
    /// for at least 2 s. Returns how many datagrams were sent in all.
    @discardableResult
    func withSteadyStream(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        var commands: [FirewallTests.BackgroundCommand] = []
        defer { for command in commands { command.stop() } }
        func run(_ namespace: String, _ arguments: String...) throws -> FirewallTests.BackgroundCommand {
            let command = try FirewallTests.BackgroundCommand(
                namespace: namespace, ["/usr/bin/python3", FirewallTests.traffic + arguments[0]] + arguments.dropFirst())
            commands.append(command)
            return command
        }
        var streams: [FirewallTests.BackgroundCommand] = []
        for (address, family, port) in [(NamespaceLab.h2IPv4, "4", "9400"), (NamespaceLab.h2IPv6, "6", "9406")] {
            let echo = try run(lab.h2, "udp_echo.py", port, family)
            guard echo.firstLine() == "listening" else { throw ManagerLab.Failure("udp_echo.py \(port) did not start") }
            let stream = try run(lab.h1, "udp_stream.py", address, port, "3600", "0.002", "--announce")
            let first = stream.firstLine()
            guard first == "echoing" else { throw ManagerLab.Failure("the stream to \(address) does not flow: \(first)") }
            streams.append(stream)
        }
        let started = Date()
        try body()
        // at least 2 s of stream, so a short body still yields a sizeable sample
        let ran = Date().timeIntervalSince(started)
        if ran < 2 { usleep(useconds_t((2 - ran) * 1_000_000)) }
        XCTAssertTrue(streams.allSatisfy { $0.process.isRunning },
                      "the streams ended before the test was done: it proved nothing", file: file, line: line)
        var sent = 0
        for stream in streams {
            stream.process.interrupt() // stops sending, waits up to 3 s for the last echoes, prints the tally
            let result = FirewallTests.StreamResult(stream.finish())
            sent += result.sent
            XCTAssertTrue(result.isComplete, "datagrams lost: \(result)\ndaemon log:\n\(manager.daemonLog)",
                          file: file, line: line)
        }
        return sent
    }

    /// Ids of the BPF programs the daemon holds (its fds, /proc/PID/fdinfo).
    func programIDs(heldBy pid: Int32) -> Set<Int> {
        let directory = "/proc/\(pid)/fdinfo"
        var ids = Set<Int>()
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let text = try? String(contentsOfFile: directory + "/" + fd, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("prog_id:") {
                if let id = Int(line.dropFirst("prog_id:".count).trimmingCharacters(in: .whitespaces)) { ids.insert(id) }
            }
        }
        return ids
    }

    /// Every loaded BPF program named fastpath_*, by id (`bpftool prog show -j`).
    func loadedFastPathPrograms() throws -> Set<Int> {
        let text = try Shell.run(["bpftool", "prog", "show", "-j"])
        let programs = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
        return Set(programs.compactMap { program in
            (program["name"] as? String)?.hasPrefix("fastpath") == true ? program["id"] as? Int : nil
        })
    }

    // MARK: 1. native

    func testNativeForwardsBothFamiliesAndCountersGrow() throws {
        try manager.startDaemon()
        try manager.waitForMode("xdp-native")
        let status = try manager.status()
        XCTAssertEqual(status["lan0"]?.ifindex, Int(try lab.ifindex(lab.router, "lan0")))
        XCTAssertEqual(status["lan0"]?.requested, "native")
        XCTAssertEqual(status["lan0"]?.reason, "")
        XCTAssertNotNil(try manager.xdpProgramID("lan0"), "an XDP program on lan0")
        try assertCountersGrow(mode: "xdp-native")
        print("fastpath daemon VmRSS, idle in the lab: \(manager.daemonRSS())")
    }

    /// Status names the kernel and exactly the optional capabilities it
    /// refuses (none on a kernel that has them all), with what each costs.
    func testStatusNamesTheKernelAndWhatItRefuses() throws {
        try manager.startDaemon()
        try manager.waitForMode("xdp-native")
        let kernel = try manager.kernelStatus()
        XCTAssertEqual(kernel.release, KernelProbe.release)
        var expected: [String: String] = [:]
        for capability in KernelCapability.allCases {
            if let why = KernelProbe.refusal(of: capability) { expected[capability.rawValue] = why }
        }
        XCTAssertEqual(kernel.degraded, expected)
        let table = try manager.fastpath("status").stdout
        XCTAssertTrue(table.contains("kernel \(kernel.release): "), table)
        for capability in KernelCapability.allCases where expected[capability.rawValue] != nil {
            XCTAssertTrue(table.contains("\(capability.title): off ("), table)
        }
        print("fastpath status on kernel \(kernel.release):\n\(table)")
    }

    /// The knob turns capabilities off where the kernel has them; status
    /// says so, the log says it once, and traffic still flows.
    func testDisabledCapabilitiesAreOffAndTrafficStillFlows() throws {
        try manager.writeConfig(ManagerLab.config(globals: """
            \tlist disable_capability 'xdp_tc_handoff'
            \tlist disable_capability 'redirect_neigh'
            \tlist disable_capability 'coarse_clock'
            \tlist disable_capability 'xdp_features'
            \tlist disable_capability 'fib_mark'
            """))
        try manager.startDaemon()
        try manager.waitForMode("xdp-native")
        let kernel = try manager.kernelStatus()
        XCTAssertEqual(Set(kernel.degraded.keys), Set(KernelCapability.allCases.map { $0.rawValue }))
        for capability in KernelCapability.allCases where KernelProbe.refusal(of: capability) == nil {
            XCTAssertEqual(kernel.degraded[capability.rawValue], CapabilityReport.turnedOffByConfig)
        }
        try assertCountersGrow(mode: "xdp-native")
        let log = manager.daemonLog
        XCTAssertEqual(log.components(separatedBy: "xdp-tc handoff: off").count - 1, 1, "logged once: \(log)")
    }

    // MARK: 2. tc and generic

    func testTCModeShowsTCAndCountersGrow() throws {
        try manager.writeConfig(ManagerLab.config(mode: "tc"))
        try manager.startDaemon()
        try manager.waitForMode("tc")
        XCTAssertNil(try manager.xdpProgramID("lan0"), "no XDP program in tc mode")
        XCTAssertTrue(try lab.exec(lab.router, "tc", "filter", "show", "dev", "lan0", "ingress").contains("fastpath_tc"))
        try assertCountersGrow(mode: "tc")
    }

    func testGenericModeShowsGenericAndCountersGrow() throws {
        try manager.writeConfig(ManagerLab.config(mode: "generic"))
        try manager.startDaemon()
        try manager.waitForMode("xdp-generic")
        XCTAssertTrue(try lab.exec(lab.router, "ip", "link", "show", "dev", "lan0").contains("xdpgeneric"))
        try assertCountersGrow(mode: "xdp-generic")
    }

    // MARK: 3. zero-loss mode switch

    func testModeSwitchesUnderSteadyStreamLoseNothing() throws {
        try manager.startDaemon()
        try manager.waitForMode("xdp-native")
        let before = try manager.status()["lan0"]?.forwardedPackets ?? 0
        let sent = try withSteadyStream {
            for mode in ["tc", "generic", "native"] {
                try switchMode(to: mode)
                usleep(300_000) // let the stream run in each mode
            }
        }
        let after = try manager.status()["lan0"]?.forwardedPackets ?? 0
        // every datagram goes in on lan0: at least a quarter of them in the fast path
        XCTAssertGreaterThan(sent, 500, "the stream ran")
        XCTAssertGreaterThan(after - before, UInt64(sent / 4), "the fast path carried the stream (\(sent) sent)")
    }

    // MARK: 4. kill -9, restart, adoption

    func testKilledDaemonLosesNothingAndRestartAdopts() throws {
        try manager.startDaemon()
        try manager.waitForMode("xdp-native")
        let lanProgram = try XCTUnwrap(try manager.xdpProgramID("lan0"))
        let wanProgram = try XCTUnwrap(try manager.xdpProgramID("wan0"))
        try withSteadyStream {
            manager.killDaemon(signal: SIGKILL)
            usleep(500_000)
            XCTAssertEqual(try manager.xdpProgramID("lan0"), lanProgram, "still attached with no daemon")
            try manager.startDaemon()
            try manager.waitForMode("xdp-native")
            usleep(300_000)
        }
        XCTAssertEqual(try manager.xdpProgramID("lan0"), lanProgram, "lan0: adopted, not re-attached")
        XCTAssertEqual(try manager.xdpProgramID("wan0"), wanProgram, "wan0: adopted, not re-attached")
        XCTAssertFalse(manager.daemonLog.contains("error"), manager.daemonLog)
        try assertCountersGrow(mode: "xdp-native")
    }

    // MARK: 5. a bad config on reload

    /// `ipv4`/`ipv6` reach the data path through the plan, on reload too:
    /// a family turned off is routed by the kernel (delivered, not counted).
    func testAFamilyTurnedOffOnReloadGoesToTheKernel() throws {
        try manager.startDaemon()
        try manager.waitForMode("xdp-native")
        // 10 pings: how many were answered, and how many packets lan0's fast path carried meanwhile
        func carried(_ address: String) throws -> (answered: Int, carried: UInt64) {
            let before = try manager.status()["lan0"]?.forwardedPackets ?? 0
            let answered = try manager.ping(address, count: 10, interval: "0.02")
            return (answered, (try manager.status()["lan0"]?.forwardedPackets ?? 0) - before)
        }
        let v4 = try carried(NamespaceLab.h2IPv4)
        XCTAssertEqual(v4.answered, 10, "IPv4 answers")
        XCTAssertGreaterThanOrEqual(v4.carried, 10)
        try manager.writeConfig(ManagerLab.config(globals: "\toption ipv4 '0'"))
        XCTAssertEqual(try manager.fastpath("reload").status, 0)
        try manager.waitFor("IPv4 answered in the kernel path", seconds: 15) {
            let v4 = try carried(NamespaceLab.h2IPv4)
            return v4.answered == 10 && v4.carried == 0
        }
        let v6 = try carried(NamespaceLab.h2IPv6)
        XCTAssertEqual(v6.answered, 10, "IPv6 answers")
        XCTAssertGreaterThanOrEqual(v6.carried, 10, "IPv6 stays in the fast path")
        try manager.writeConfig(ManagerLab.config())
        XCTAssertEqual(try manager.fastpath("reload").status, 0)
        try manager.waitFor("IPv4 answered in the fast path again", seconds: 15) {
            let v4 = try carried(NamespaceLab.h2IPv4)
            return v4.answered == 10 && v4.carried >= 10
        }
    }

    /// netifd interface names (`option network`): the devices are the
    /// ones the init script last wrote down, and a reload follows them.
    func testNetifdInterfacesFollowTheDevicesTheInitScriptReports() throws {
        try manager.writeConfig("""
            config globals 'globals'
            \toption mode 'native'
            \toption policy 'routing'

            config interface 'lan'
            \toption network 'lan'

            config interface 'wan'
            \toption network 'wan'

            """)
        let devices = manager.runDirectory + "/network-devices"
        try "lan lan0\n".write(toFile: devices, atomically: true, encoding: .utf8)
        try manager.startDaemon()
        try manager.waitFor("lan0 attached, wan waiting") {
            let status = try manager.status()
            return status["lan0"]?.mode == "xdp-native" && status["wan"]?.reason == "waiting for netifd interface 'wan' to have a device"
        }
        try "lan lan0\nwan wan0\n".write(toFile: devices, atomically: true, encoding: .utf8)
        XCTAssertEqual(try manager.fastpath("reload").status, 0)
        try manager.waitForMode("xdp-native")
        try assertCountersGrow(mode: "xdp-native")
        try "lan lan0\n".write(toFile: devices, atomically: true, encoding: .utf8)
        XCTAssertEqual(try manager.fastpath("reload").status, 0)
        try manager.waitFor("wan0 detached") { try manager.xdpProgramID("wan0") == nil }
    }

    func testBadConfigOnReloadChangesNothing() throws {
        try manager.startDaemon()
        try manager.waitForMode("xdp-native")
        let programs = [try manager.xdpProgramID("lan0"), try manager.xdpProgramID("wan0")]
        let modes = try manager.modes()
        // Line 3 is the unknown option; the mode word would switch to tc were it read.
        try manager.writeConfig("""
            config globals 'globals'
            \toption mode 'tc'
            \toption frobnicate '1'
            \toption policy 'routing'

            config interface 'lan'
            \toption device 'lan0'

            """)
        let reload = try manager.fastpath("reload")
        XCTAssertEqual(reload.status, 1, "reload of a bad config")
        XCTAssertTrue(reload.stderr.contains("\(manager.configPath):3"), "names file:line: \(reload.stderr)")
        XCTAssertTrue(reload.stderr.contains("frobnicate"), reload.stderr)
        // The daemon re-validates too: a SIGHUP straight to it is refused as well.
        kill(manager.daemonPID, SIGHUP)
        try manager.waitFor("the daemon to refuse the reload") { manager.daemonLog.contains("reload refused") }
        XCTAssertTrue(manager.daemon?.isRunning ?? false, "the daemon keeps running")
        XCTAssertEqual(try manager.modes(), modes)
        XCTAssertEqual([try manager.xdpProgramID("lan0"), try manager.xdpProgramID("wan0")], programs)
        try assertCountersGrow(mode: "xdp-native")
    }

    // MARK: 6. a router veth deleted and re-created

    func testRecreatedVethIsAttachedAgain() throws {
        try manager.startDaemon()
        try manager.waitForMode("xdp-native")
        let oldIndex = try XCTUnwrap(try manager.status()["lan0"]?.ifindex)
        try lab.exec(lab.router, "ip", "link", "del", "lan0") // takes h1's eth0 with it
        try manager.waitFor("lan0 to be waited for") { try manager.status()["lan0"]?.mode == "none" }
        recreateLAN()
        let newIndex = Int(try lab.ifindex(lab.router, "lan0"))
        XCTAssertNotEqual(newIndex, oldIndex)
        try manager.waitFor("the new lan0 in xdp-native") {
            let lan = try manager.status()["lan0"]
            return lan?.mode == "xdp-native" && lan?.ifindex == newIndex
        }
        XCTAssertEqual(try manager.status()["lan0"]?.reason, "")
        XCTAssertNotNil(try manager.xdpProgramID("lan0"))
        try assertCountersGrow(mode: "xdp-native")
    }

    /// The h1–r veth of Tests/lab/lab.sh again, with fresh MACs and ifindexes.
    func recreateLAN() {
        let h1 = lab.h1, r = lab.router
        do {
            try Shell.run(["ip", "link", "add", "eth0", "netns", h1, "type", "veth", "peer", "name", "lan0", "netns", r])
            try lab.exec(h1, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
            try lab.exec(h1, "ip", "-6", "addr", "add", "2001:db8:1::1/64", "dev", "eth0", "nodad")
            try lab.exec(r, "ip", "addr", "add", "192.0.2.254/24", "dev", "lan0")
            try lab.exec(r, "ip", "-6", "addr", "add", "2001:db8:1::fe/64", "dev", "lan0", "nodad")
            try lab.exec(h1, "ethtool", "-K", "eth0", "tx", "off", "gro", "on")
            try lab.exec(h1, "ip", "link", "set", "eth0", "up")
            try lab.exec(r, "ip", "link", "set", "lan0", "up")
            try lab.exec(h1, "ip", "route", "add", "default", "via", NamespaceLab.lanIPv4)
            try lab.exec(h1, "ip", "-6", "route", "add", "default", "via", NamespaceLab.lanIPv6)
            let h1MAC = try lab.exec(h1, "cat", "/sys/class/net/eth0/address").trimmingCharacters(in: .whitespacesAndNewlines)
            let lanMAC = try lab.exec(r, "cat", "/sys/class/net/lan0/address").trimmingCharacters(in: .whitespacesAndNewlines)
            try lab.exec(r, "ip", "neigh", "replace", NamespaceLab.h1IPv4, "lladdr", h1MAC, "dev", "lan0", "nud", "permanent")
            try lab.exec(r, "ip", "neigh", "replace", NamespaceLab.h1IPv6, "lladdr", h1MAC, "dev", "lan0", "nud", "permanent")
            try lab.exec(h1, "ip", "neigh", "replace", NamespaceLab.lanIPv4, "lladdr", lanMAC, "dev", "eth0", "nud", "permanent")
            try lab.exec(h1, "ip", "neigh", "replace", NamespaceLab.lanIPv6, "lladdr", lanMAC, "dev", "eth0", "nud", "permanent")
        } catch {
            XCTFail("re-creating lan0: \(error)")
        }
    }

    // MARK: 7. detach

    func testDetachLeavesNothingBehind() throws {
        // lan0 in tc (a clsact qdisc fastpath creates), wan0 in native XDP.
        try manager.writeConfig("""
            config globals 'globals'
            \toption mode 'native'
            \toption policy 'routing'

            config interface 'lan'
            \toption device 'lan0'
            \toption mode 'tc'

            config interface 'wan'
            \toption device 'wan0'

            """)
        // A clsact qdisc someone else made on wan0: fastpath's filters go,
        // the qdisc stays.
        try lab.exec(lab.router, "tc", "qdisc", "add", "dev", "wan0", "clsact")
        try manager.startDaemon()
        try manager.waitFor("lan0 in tc, wan0 in xdp-native") {
            let modes = try manager.modes()
            return modes["lan0"] == "tc" && modes["wan0"] == "xdp-native"
        }
        XCTAssertTrue(try lab.exec(lab.router, "tc", "qdisc", "show").contains("clsact"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: manager.pinDirectory))
        let held = programIDs(heldBy: manager.daemonPID)
        XCTAssertGreaterThanOrEqual(held.count, 2, "the daemon holds its XDP and TC programs")
        XCTAssertTrue(held.isSubset(of: try loadedFastPathPrograms()), "bpftool lists them as fastpath programs")

        let detach = try manager.fastpath("detach")
        XCTAssertEqual(detach.status, 0, detach.stderr)
        manager.daemon?.waitUntilExit() // detach waited for it; this only reaps it
        XCTAssertFalse(manager.daemon?.isRunning ?? true, "the daemon has exited")
        XCTAssertEqual(manager.daemon?.terminationStatus, 0, manager.daemonLog)

        // Other test runs on this machine may load fastpath programs of their
        // own: what must be gone is every program this daemon loaded. The
        // kernel frees a program after an RCU grace period (tc filters drop
        // their reference from a workqueue), so its ID may linger briefly.
        try manager.waitFor("the daemon's programs \(held) to be freed") {
            held.isDisjoint(with: try loadedFastPathPrograms())
        }
        for device in ["lan0", "wan0"] {
            XCTAssertNil(try manager.xdpProgramID(device), "\(device): XDP program left")
            for hook in ["ingress", "egress"] {
                XCTAssertEqual(try lab.exec(lab.router, "tc", "filter", "show", "dev", device, hook), "",
                               "\(device): tc filter left at \(hook)")
            }
        }
        let lanQdiscs = try lab.exec(lab.router, "tc", "qdisc", "show", "dev", "lan0")
        XCTAssertFalse(lanQdiscs.contains("clsact"), "the clsact qdisc fastpath made is left:\n\(lanQdiscs)")
        let wanQdiscs = try lab.exec(lab.router, "tc", "qdisc", "show", "dev", "wan0")
        XCTAssertTrue(wanQdiscs.contains("clsact"), "someone else's clsact qdisc went:\n\(wanQdiscs)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: manager.pinDirectory), "pin directory left")
        XCTAssertFalse(FileManager.default.fileExists(atPath: manager.runDirectory + "/fastpath.pid"), "pid file left")
        // And the kernel still forwards on its own.
        XCTAssertEqual(try manager.ping(NamespaceLab.h2IPv4), 5)
    }

    // MARK: 8. check, and bad usage

    func testCheckValidatesWithoutTouchingAnything() throws {
        let valid = try manager.fastpath("check")
        XCTAssertEqual(valid.status, 0, valid.stderr)
        XCTAssertEqual(valid.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok")

        try manager.writeConfig("""
            config globals 'globals'
            \toption mode 'warp'
            \toption policy 'routing'

            config interface 'lan'
            \toption device 'lan0'
            \toption frobnicate '1'

            """)
        let invalid = try manager.fastpath("check")
        XCTAssertEqual(invalid.status, 1)
        XCTAssertEqual(invalid.stdout, "")
        XCTAssertTrue(invalid.stderr.contains("\(manager.configPath):2"), "names the bad mode's line: \(invalid.stderr)")
        XCTAssertTrue(invalid.stderr.contains("warp"), invalid.stderr)
        XCTAssertTrue(invalid.stderr.contains("\(manager.configPath):7"), "names the unknown option's line: \(invalid.stderr)")
        XCTAssertTrue(invalid.stderr.contains("frobnicate"), invalid.stderr)

        // Nothing was touched: no pins, no state, nothing attached.
        XCTAssertFalse(FileManager.default.fileExists(atPath: manager.pinDirectory))
        XCTAssertFalse(FileManager.default.fileExists(atPath: manager.runDirectory + "/state"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: manager.runDirectory + "/fastpath.pid"))
        XCTAssertNil(try manager.xdpProgramID("lan0"))
        XCTAssertFalse(try lab.exec(lab.router, "tc", "qdisc", "show").contains("clsact"))

        for usage in [["frobnicate"], ["status", "--frobnicate"], ["check", "--json"], []] {
            let result = try Shell.result([ManagerLab.binary] + usage)
            XCTAssertEqual(result.status, 2, "fastpath \(usage.joined(separator: " ")): \(result.stderr)")
            XCTAssertFalse(result.stderr.isEmpty, "a usage error says what is wrong")
        }
    }

    // MARK: 9. a full table

    func testStartsAndForwardsWithAHundredThousandRoutes() throws {
        // /28s under 10.0.0.0/8 via h2, inside the router namespace only.
        var batch = ""
        for i in 0..<100_000 {
            batch += "route add 10.\(i >> 12).\((i >> 4) & 255).\((i & 15) << 4)/28 via \(NamespaceLab.h2IPv4)\n"
        }
        let batchPath = manager.runDirectory + "/routes.batch"
        try batch.write(toFile: batchPath, atomically: true, encoding: .utf8)
        try lab.exec(lab.router, "ip", "-batch", batchPath)
        let routes = try lab.exec(lab.router, "sh", "-c", "ip route show | wc -l")
        XCTAssertGreaterThanOrEqual(Int(routes.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 100_000)

        let started = Date()
        try manager.startDaemon(seconds: 30)
        try manager.waitForMode("xdp-native", seconds: 30)
        let startup = Date().timeIntervalSince(started)
        try assertCountersGrow(mode: "xdp-native")
        print(String(format: "fastpath daemon with 100000 routes: VmRSS %@, up and attached in %.2f s",
                     manager.daemonRSS(), startup))
    }
}
