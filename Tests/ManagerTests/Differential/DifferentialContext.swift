import Foundation
import LabSupport

/// Which side of the comparison a run is.
enum DifferentialRun: String {
    case kernel, fastpath
}

/// What a scenario's closures get: the lab of this run, commands in its
/// namespaces, background traffic, and the daemon (a no-op in the kernel run).
final class DifferentialContext {
    let run: DifferentialRun
    let scenario: DifferentialScenario
    let manager: ManagerLab
    var lab: NamespaceLab { manager.lab }
    var h1: String { lab.h1 }
    var h2: String { lab.h2 }
    var h3: String { lab.prefix + "-h3" }
    var router: String { lab.router }
    /// Problems a scenario found beyond the comparison (e.g. a timing bound).
    private(set) var problems: [String] = []
    /// Measurements for the report line.
    private(set) var notes: [String] = []
    private var background: [FirewallTests.BackgroundCommand] = []

    static var traffic: String { repositoryRoot + "/Tests/lab/traffic/" }

    init(run: DifferentialRun, scenario: DifferentialScenario, manager: ManagerLab) {
        self.run = run
        self.scenario = scenario
        self.manager = manager
    }

    var isFastPath: Bool { run == .fastpath }

    func fail(_ problem: String) { problems.append(problem) }
    func note(_ text: String) { notes.append(text) }

    /// Runs a command in `namespace`; a failure throws.
    @discardableResult
    func exec(_ namespace: String, _ arguments: String...) throws -> String {
        try lab.exec(namespace, arguments: arguments)
    }

    /// Runs a shell script in `namespace` (several `ip`/`nft` lines at once).
    func sh(_ namespace: String, _ script: String) throws {
        try lab.exec(namespace, arguments: ["sh", "-ec", script])
    }

    /// Loads nftables rules into the router from text (`nft -f`).
    func nft(_ rules: String) throws {
        let path = manager.runDirectory + "/rules-\(UUID().uuidString).nft"
        try rules.write(toFile: path, atomically: true, encoding: .utf8)
        try exec(router, "nft", "-f", path)
    }

    /// A traffic script running in the background; stopped when the run ends.
    @discardableResult
    func start(_ namespace: String, _ script: String, _ arguments: String...) throws -> FirewallTests.BackgroundCommand {
        try start(namespace, script, arguments: arguments)
    }

    @discardableResult
    func start(_ namespace: String, _ script: String, arguments: [String]) throws -> FirewallTests.BackgroundCommand {
        let command = try FirewallTests.BackgroundCommand(
            namespace: namespace, ["/usr/bin/python3", DifferentialContext.traffic + script] + arguments)
        background.append(command)
        return command
    }

    /// A server that prints "listening" when ready (udp_echo.py, tcp_talk.py serve), once ready.
    func startServer(_ namespace: String, _ script: String, _ arguments: String...) throws {
        let command = try FirewallTests.BackgroundCommand(
            namespace: namespace, ["/usr/bin/python3", DifferentialContext.traffic + script] + arguments)
        background.append(command)
        let line = command.firstLine()
        guard line == "listening" else { throw ManagerLab.Failure("\(script) \(arguments) did not start: \(line)") }
    }

    /// Runs a traffic script to its end and returns what it printed.
    @discardableResult
    func python(_ namespace: String, _ script: String, _ arguments: String...) throws -> String {
        try lab.exec(namespace, arguments: ["/usr/bin/python3", DifferentialContext.traffic + script] + arguments)
    }

    /// The MAC address of `device` in `namespace` (destination of crafted frames).
    func mac(_ namespace: String, _ device: String) throws -> String {
        try exec(namespace, "cat", "/sys/class/net/\(device)/address").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts the daemon and waits for the scenario's mode (fastpath run only).
    func attachFastPath() throws {
        guard isFastPath else { return }
        try manager.startDaemon()
        try manager.waitForMode(scenario.mode)
    }

    /// Packets the fast path forwarded so far, over all interfaces (0 without the daemon).
    func forwarded() throws -> UInt64 {
        guard isFastPath, manager.daemon != nil else { return 0 }
        return try manager.status().values.reduce(0) { $0 + $1.forwardedPackets }
    }

    /// Waits until the fast path has forwarded `packets` more than now (the
    /// flow is offloaded); in the kernel run, waits as long as that took
    /// would be unknowable, so it waits `kernelSeconds` instead.
    func waitForOffload(morePackets packets: UInt64 = 50, seconds: Double = 8, kernelSeconds: Double = 2.5) throws {
        guard isFastPath else { return Thread.sleep(forTimeInterval: kernelSeconds) }
        let start = try forwarded()
        try manager.waitFor("the fast path to carry the flow", seconds: seconds) { try forwarded() >= start + packets }
    }

    /// Waits until the router's conntrack entry of the UDP flow to `dport` is ASSURED.
    func waitForAssured(udpDestinationPort dport: Int, seconds: Double = 8) throws {
        try manager.waitFor("conntrack to mark the flow to port \(dport) ASSURED", seconds: seconds) {
            try exec(router, "conntrack", "-L", "-p", "udp", "--dport", "\(dport)").contains("ASSURED")
        }
    }

    /// The flow directions the fast path carries (entries of the pinned fp_flows map).
    func mirroredFlows() throws -> Int {
        let text = try Shell.run(["bpftool", "-j", "map", "dump", "pinned", manager.pinDirectory + "/fp_flows"])
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any])?.count ?? 0
    }

    /// Waits until the daemon has withdrawn every flow direction (after a
    /// ruleset change); nothing to wait for in the kernel run.
    func waitForNoMirroredFlows(seconds: Double = 8) throws {
        guard isFastPath else { return }
        try manager.waitFor("the daemon to withdraw every flow", seconds: seconds) { try mirroredFlows() == 0 }
    }

    func stopBackground() {
        for command in background { command.stop() }
        background.removeAll()
    }
}
