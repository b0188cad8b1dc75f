import Foundation
import XCTest
import LabSupport

/// Runs a `DifferentialScenario` with the kernel alone and with the
/// fastpath daemon attached, each in a fresh lab, and fails the test with
/// a readable diff if any host received anything different.
enum DifferentialHarness {
    /// What one run produced.
    struct Outcome {
        var recording = DifferentialRecording()
        /// Packets the fast path forwarded (status counters, all interfaces).
        var forwarded: UInt64 = 0
        var problems: [String] = []
        var notes: [String] = []
        var daemonLog = ""
        /// `fastpath status` at the end of the run (pass reasons).
        var status = ""
    }

    /// Waits until no host's interface counters (/proc/net/dev) have moved
    /// for 300 ms, so the last packets in flight reach the recorders; gives
    /// up after 5 s (a background sender still running), no worse than a
    /// fixed pause.
    static func settle(_ lab: NamespaceLab, hosts: [String]) {
        func counters() -> String {
            hosts.map { (try? lab.exec($0, arguments: ["cat", "/proc/net/dev"])) ?? "" }.joined()
        }
        let deadline = Date().addingTimeInterval(5)
        var last = counters()
        var since = Date()
        while Date() < deadline {
            usleep(50_000)
            let now = counters()
            if now != last {
                last = now
                since = Date()
            } else if Date().timeIntervalSince(since) >= 0.3 {
                return
            }
        }
    }

    /// Runs both sides, prints the report line and records any failure.
    static func check(_ scenario: DifferentialScenario, file: StaticString = #filePath, line: UInt = #line) throws {
        let started = Date()
        let kernel = try run(scenario, as: .kernel)
        let fastpath = try run(scenario, as: .fastpath)
        let delivered = fastpath.recording.deliveredPackets
        // forwarded counts everything, delivered only what the filter records: a share, not a proportion
        let share = delivered == 0 ? "n/a" : String(format: "%.0f%%", Double(fastpath.forwarded) * 100 / Double(delivered))
        let notes = (kernel.notes.map { "kernel: \($0)" } + fastpath.notes.map { "fastpath: \($0)" }).joined(separator: "; ")
        print("[differential] \(scenario.name): delivered kernel \(kernel.recording.deliveredPackets)"
              + " fastpath \(delivered); fast path share \(share)"
              + " (\(fastpath.forwarded) forwarded)\(notes.isEmpty ? "" : "; " + notes)"
              + "; \(String(format: "%.1f", Date().timeIntervalSince(started))) s")

        let diff = DifferentialRecording.diff(kernel: kernel.recording, fastpath: fastpath.recording)
        if !diff.isEmpty {
            XCTFail("\(scenario.name): the hosts received something else with fastpath:\n"
                    + diff.map { "  " + $0 }.joined(separator: "\n")
                    + "\nkernel run:\n\(kernel.recording.listing)\nfastpath run:\n\(fastpath.recording.listing)"
                    + "\nstatus:\n\(fastpath.status)\ndaemon log:\n\(fastpath.daemonLog)", file: file, line: line)
        }
        if let problem = scenario.oracleCheck(kernel.recording) {
            XCTFail("\(scenario.name): the kernel run does not exercise the scenario: \(problem)\n"
                    + kernel.recording.listing, file: file, line: line)
        }
        if scenario.expectsOffload && fastpath.forwarded == 0 {
            XCTFail("\(scenario.name): the fast path forwarded nothing, so the runs compared the kernel with itself:\n"
                    + fastpath.status + "\ndaemon log:\n\(fastpath.daemonLog)", file: file, line: line)
        }
        for problem in kernel.problems {
            XCTFail("\(scenario.name) (kernel run): \(problem)", file: file, line: line)
        }
        for problem in fastpath.problems {
            XCTFail("\(scenario.name) (fastpath run): \(problem)", file: file, line: line)
        }
    }

    /// One run in a fresh lab, torn down whatever happens.
    static func run(_ scenario: DifferentialScenario, as run: DifferentialRun) throws -> Outcome {
        let manager = try ManagerLab(config: scenario.config)
        let context = DifferentialContext(run: run, scenario: scenario, manager: manager)
        var recorders: [(host: String, command: FirewallTests.BackgroundCommand)] = []
        defer {
            for recorder in recorders { recorder.command.stop() }
            context.stopBackground()
            manager.destroy()
        }
        var hosts = [context.h1, context.h2]
        if scenario.secondWAN {
            try Shell.run(["sh", repositoryRoot + "/Tests/lab/lab.sh", "h3", manager.lab.prefix])
            hosts.append(context.h3)
        }
        try scenario.setup(context)
        for host in hosts {
            let command = try FirewallTests.BackgroundCommand(
                namespace: host, ["/usr/bin/python3", DifferentialContext.traffic + "recorder.py"] + scenario.recorderFilter)
            guard command.firstLine() == "listening" else { throw ManagerLab.Failure("the recorder on \(host) did not start") }
            recorders.append((host, command))
        }
        if !scenario.attachesItself { try context.attachFastPath() }
        try scenario.traffic(context)
        settle(manager.lab, hosts: hosts)

        var outcome = Outcome()
        outcome.forwarded = try context.forwarded()
        for (host, command) in recorders {
            command.process.interrupt()
            // The host's short name (h1, h2, h3) so both runs' keys match.
            try outcome.recording.add(host: String(host.split(separator: "-").last!), json: command.finish())
        }
        outcome.problems = context.problems
        outcome.notes = context.notes
        outcome.daemonLog = manager.daemonLog
        if context.isFastPath { outcome.status = (try? manager.fastpath("status"))?.stdout ?? "" }
        return outcome
    }
}
