import FastPathCore
import FastPathDaemon
import FastPathKernel

/// The command line: parses the arguments and runs one subcommand.
/// Exit codes: 0 success, 1 an error (one line a person can act on on
/// stderr), 2 bad usage.
enum FastPathCommand {
    static let version = "0.1.0"

    static func run(_ arguments: [String]) -> Int32 {
        let parsed: CommandLineArguments
        do {
            parsed = try CommandLineArguments.parse(Array(arguments.dropFirst()))
        } catch {
            Console.error("fastpath: \(error.message)")
            Console.error(CommandLineArguments.usage)
            return 2
        }
        LibBPFLog.setWarningsVisible(false)
        var paths = DaemonPaths()
        if let value = parsed.config { paths.config = value }
        if let value = parsed.bpfDirectory { paths.bpfDirectory = value }
        if let value = parsed.pinDirectory { paths.pinDirectory = value }
        if let value = parsed.runDirectory { paths.runDirectory = value }

        switch parsed.command {
        case .version:
            Console.line("fastpath \(version)")
            return 0
        case .help:
            Console.line(CommandLineArguments.usage)
            return 0
        case .check: return check(paths)
        case .daemon: return Daemon.run(paths: paths, foreground: parsed.foreground)
        case .status: return status(paths, json: parsed.json)
        case .reload: return reload(paths)
        case .detach: return detach(paths)
        }
    }

    static func check(_ paths: DaemonPaths) -> Int32 {
        switch ConfigFile.load(paths.config) {
        case .valid:
            Console.line("ok")
            return 0
        case .invalid(let lines):
            for line in lines { Console.error(line) }
            return 1
        }
    }

    static func status(_ paths: DaemonPaths, json: Bool) -> Int32 {
        do {
            let report = try StatusReader.read(paths: paths)
            Console.write(json ? report.json() + "\n" : report.table())
            return 0
        } catch {
            Console.error("fastpath: \(error.description)")
            return 1
        }
    }

    /// Checks the config first, so its errors are shown here, then signals
    /// the daemon (which re-validates and keeps running on a bad config).
    static func reload(_ paths: DaemonPaths) -> Int32 {
        if case .invalid(let lines) = ConfigFile.load(paths.config) {
            for line in lines { Console.error(line) }
            Console.error("fastpath: not reloading: the config has errors (the daemon keeps its state)")
            return 1
        }
        guard let pid = Daemon.runningDaemonPID(paths) else {
            Console.error("fastpath: no daemon running (\(paths.pidFile))")
            return 1
        }
        do {
            _ = try ProcessControl.send(.hangup, to: pid)
            return 0
        } catch {
            Console.error("fastpath: \(error.description)")
            return 1
        }
    }

    /// Stops a running daemon (which detaches everything), then sweeps for
    /// anything left, e.g. by a daemon that was killed.
    static func detach(_ paths: DaemonPaths) -> Int32 {
        if let pid = Daemon.runningDaemonPID(paths) {
            _ = try? ProcessControl.send(.terminate, to: pid)
            var waited: UInt32 = 0
            while ProcessControl.isAlive(pid) && waited < 10_000 {
                MonotonicClock.sleep(milliseconds: 20)
                waited += 20
            }
        }
        let problems = Teardown.removeEverything(paths: paths)
        for problem in problems { Console.error("fastpath: \(problem)") }
        try? SmallFile.remove(paths.pidFile)
        return problems.isEmpty ? 0 : 1
    }
}
