import Foundation
import XCTest
import LabSupport

/// The namespace lab with the real embedded binary (`make`:
/// build/x86_64/fastpath) managing its router: the daemon runs in the
/// router's network namespace but the host's mount namespace (`nsenter
/// --net`, not `ip netns exec`), so its bpffs pins are visible to the CLI.
/// Each instance has its own lab, config, pin and run directories;
/// `destroy()` removes all of them, whatever state the test left.
final class ManagerLab {
    let lab: NamespaceLab
    let pinDirectory: String
    let runDirectory: String
    let configPath: String
    let logPath: String
    private(set) var daemon: Process?

    static var binary: String { repositoryRoot + "/build/x86_64/fastpath" }
    static var bpfDirectory: String { repositoryRoot + "/build/bpf" }

    /// `lan0` and `wan0` of the router under policy routing (no `wan '1'`:
    /// routing policy is refused on a wan interface).
    static func config(mode: String = "native", globals: String = "") -> String {
        """
        config globals 'globals'
        \toption mode '\(mode)'
        \toption policy 'routing'
        \(globals)

        config interface 'lan'
        \toption device 'lan0'

        config interface 'wan'
        \toption device 'wan0'

        """
    }

    init(config: String = ManagerLab.config()) throws {
        guard FileManager.default.isExecutableFile(atPath: ManagerLab.binary) else {
            throw XCTSkip("\(ManagerLab.binary) is missing: run `make` first")
        }
        lab = try NamespaceLab()
        pinDirectory = "/sys/fs/bpf/fptest-\(lab.prefix)"
        runDirectory = "/tmp/fptest-\(lab.prefix)"
        configPath = runDirectory + "/fastpath.conf"
        logPath = runDirectory + "/daemon.log"
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        try writeConfig(config)
    }

    /// Detaches everything, stops the daemon, removes the lab and the directories.
    func destroy() {
        _ = try? fastpath("detach")
        if let daemon, daemon.isRunning {
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitUntilExit()
        }
        lab.destroy()
        try? FileManager.default.removeItem(atPath: pinDirectory)
        try? FileManager.default.removeItem(atPath: runDirectory)
    }

    func writeConfig(_ text: String) throws {
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    var sharedOptions: [String] {
        ["-c", configPath, "--bpf-dir", ManagerLab.bpfDirectory, "--pin-dir", pinDirectory, "--run-dir", runDirectory]
    }

    /// Runs `fastpath ARGS… OPTIONS` in the router's network namespace.
    @discardableResult
    func fastpath(_ arguments: String...) throws -> Shell.Result {
        try Shell.result(["nsenter", "--net=/run/netns/\(lab.router)", ManagerLab.binary] + arguments + sharedOptions)
    }

    /// The daemon's log so far, for failure messages.
    var daemonLog: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Starts `fastpath daemon --foreground` and waits until it has written
    /// its state (status works). A state file a killed daemon left is
    /// removed first, so the wait is for this daemon.
    func startDaemon(seconds: Double = 10) throws {
        try? FileManager.default.removeItem(atPath: runDirectory + "/state")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = ["--net=/run/netns/\(lab.router)", ManagerLab.binary, "daemon", "--foreground"] + sharedOptions
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
        daemon = process
        try waitFor("the daemon to write its state", seconds: seconds) {
            guard process.isRunning else { throw Failure("the daemon exited \(process.terminationStatus):\n\(daemonLog)") }
            return (try? status()) != nil
        }
    }

    /// The daemon's pid (nsenter execs it, so it is the process we started).
    var daemonPID: Int32 { daemon?.processIdentifier ?? 0 }

    func killDaemon(signal: Int32 = SIGKILL) {
        guard let daemon else { return }
        kill(daemon.processIdentifier, signal)
        daemon.waitUntilExit()
    }

    // MARK: status

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    struct InterfaceStatus {
        var name: String
        var ifindex: Int
        var requested: String
        var mode: String
        var reason: String
        var forwardedPackets: UInt64
        var forwardedBytes: UInt64
        var passed: [String: UInt64]
    }

    /// `fastpath status --json`, parsed with JSONSerialization, by interface name.
    func status() throws -> [String: InterfaceStatus] {
        let result = try fastpath("status", "--json")
        guard result.status == 0 else { throw Failure("status --json exited \(result.status): \(result.stderr)") }
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
              let interfaces = object["interfaces"] as? [[String: Any]],
              object["totals"] is [String: Any] else {
            throw Failure("status --json printed an unexpected object: \(result.stdout)")
        }
        var byName: [String: InterfaceStatus] = [:]
        for entry in interfaces {
            let number = { (key: String) -> UInt64 in (entry[key] as? NSNumber)?.uint64Value ?? 0 }
            var passed: [String: UInt64] = [:]
            for (reason, count) in entry["passed"] as? [String: Any] ?? [:] {
                passed[reason] = (count as? NSNumber)?.uint64Value ?? 0
            }
            let name = entry["name"] as? String ?? ""
            byName[name] = InterfaceStatus(name: name, ifindex: Int(number("ifindex")),
                                           requested: entry["requested"] as? String ?? "",
                                           mode: entry["mode"] as? String ?? "", reason: entry["reason"] as? String ?? "",
                                           forwardedPackets: number("forwarded_packets"),
                                           forwardedBytes: number("forwarded_bytes"), passed: passed)
        }
        return byName
    }

    /// The `kernel` object of `status --json`: the release and, for each
    /// capability that is off, why.
    func kernelStatus() throws -> (release: String, degraded: [String: String]) {
        let result = try fastpath("status", "--json")
        guard result.status == 0,
              let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
              let kernel = object["kernel"] as? [String: Any], let release = kernel["release"] as? String,
              let degraded = kernel["degraded"] as? [[String: Any]] else {
            throw Failure("status --json has no kernel object: \(result.stdout) \(result.stderr)")
        }
        var reasons: [String: String] = [:]
        for entry in degraded {
            reasons[entry["capability"] as? String ?? ""] = entry["reason"] as? String ?? ""
        }
        return (release, reasons)
    }

    func modes() throws -> [String: String] {
        try status().mapValues { $0.mode }
    }

    /// Waits until `status` shows `mode` on lan0 and wan0.
    func waitForMode(_ mode: String, seconds: Double = 5) throws {
        try waitFor("lan0 and wan0 in \(mode)", seconds: seconds) {
            let modes = try modes()
            return modes["lan0"] == mode && modes["wan0"] == mode
        }
    }

    func waitFor(_ what: String, seconds: Double = 5, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        var lastError: Error?
        while Date() < deadline {
            do {
                if try condition() { return }
            } catch let error as Failure {
                throw error
            } catch {
                lastError = error
            }
            usleep(20_000)
        }
        let status = (try? fastpath("status"))?.stdout ?? ""
        throw Failure("timed out waiting for \(what)\(lastError.map { " (\($0))" } ?? "")\nstatus:\n\(status)\ndaemon log:\n\(daemonLog)")
    }

    // MARK: kernel side, read independently of fastpath

    /// The XDP program attached to `device` in the router (`ip -j link`), or nil.
    func xdpProgramID(_ device: String) throws -> Int? {
        let text = try lab.exec(lab.router, "ip", "-j", "link", "show", "dev", device)
        guard let links = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]],
              let xdp = links.first?["xdp"] as? [String: Any] else { return nil }
        if let prog = xdp["prog"] as? [String: Any], let id = prog["id"] as? Int { return id }
        return xdp["prog_id"] as? Int
    }

    // MARK: traffic

    /// Pings `count` times from h1 and returns how many replies came back.
    /// With `-w`, ping waits for every reply until the deadline (the time
    /// to send them plus 5 s), not just twice the round trip after the last
    /// request, so a reply late on a busy machine still counts.
    func ping(_ address: String, count: Int = 5, interval: String = "0.05") throws -> Int {
        let deadline = Int((Double(count) * (Double(interval) ?? 1)).rounded(.up)) + 5
        let result = try Shell.result(["ip", "netns", "exec", lab.h1, "ping", "-q", "-c", "\(count)", "-i", interval,
                                       "-W", "1", "-w", "\(deadline)", address])
        return ManagerLab.received(in: result.stdout)
    }

    static func received(in pingOutput: String) -> Int {
        guard let range = pingOutput.range(of: #"(\d+) received"#, options: .regularExpression) else { return 0 }
        return Int(pingOutput[range].split(separator: " ")[0]) ?? 0
    }

    /// VmRSS of the daemon, from /proc.
    func daemonRSS() -> String {
        let text = (try? String(contentsOfFile: "/proc/\(daemonPID)/status", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .map { $0.dropFirst("VmRSS:".count).trimmingCharacters(in: .whitespaces) } ?? "?"
    }
}
