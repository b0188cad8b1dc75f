import FastPathCore
import FastPathKernel

/// The daemon as a process: start (pid file, daemonizing), reload on
/// SIGHUP (or a fresh start in place), stop on TERM/INT.
extension Daemon {
    /// Starts the daemon and runs it until TERM/INT; returns the exit code.
    public static func run(paths: DaemonPaths, foreground: Bool) -> Int32 {
        ProcessControl.rememberInheritedDescriptors()
        let config: FastPathConfig
        switch ConfigFile.load(paths.config) {
        case .valid(let valid): config = valid
        case .invalid(let lines):
            for line in lines { Console.error(line) }
            return 1
        }
        if let pid = runningDaemonPID(paths), pid != ProcessControl.pid {
            Console.error("fastpath: a daemon is already running (pid \(pid), \(paths.pidFile))")
            return 1
        }
        if !foreground {
            do { try ProcessControl.daemonize() } catch {
                Console.error("fastpath: \(error.description)")
                return 1
            }
        }
        let daemon: Daemon
        do {
            daemon = try Daemon(paths: paths, config: config)
        } catch {
            Console.error("fastpath: \(error.description)")
            return 1
        }
        return daemon.loop()
    }

    /// The pid in the pid file, if that process is alive.
    public static func runningDaemonPID(_ paths: DaemonPaths) -> Int32? {
        guard let text = try? SmallFile.read(paths.pidFile),
              let pid = Int32(text.split(separator: "\n").first ?? ""),
              ProcessControl.isAlive(pid) else { return nil }
        return pid
    }

    /// The daemon's own command line, to start afresh in place.
    var commandLine: [String] {
        ["daemon", "--foreground", "-c", paths.config, "--bpf-dir", paths.bpfDirectory,
         "--pin-dir", paths.pinDirectory, "--run-dir", paths.runDirectory]
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[path.startIndex..<slash])
    }

    /// SIGHUP: a valid config replaces the running one; a bad one is
    /// reported and changes nothing.
    func reload() {
        // The init script writes it before each SIGHUP, whatever the config.
        let devicesBefore = networkDevices
        readNetworkDevices()
        switch ConfigFile.load(paths.config) {
        case .invalid(let lines):
            for line in lines { log.error(line) }
            log.error("reload refused: the config has errors; the running config is kept")
            // netifd moved an interface the running config names: follow it.
            if networkDevices != devicesBefore { reconcile() }
        case .valid(let newConfig):
            let fixedAtLoad = newConfig.globals.loadTimeOptions(differingFrom: config.globals)
            if !fixedAtLoad.isEmpty {
                // Start afresh in place (same pid); the new maps take over the admitted flows.
                log.notice("\(fixedAtLoad.joined(separator: " and ")) changed: restarting in place to load the data path again")
                log.error(ProcessControl.restartInPlace(arguments: commandLine).description)
            }
            config = newConfig
            log.level = newConfig.globals.logLevel
            nativeRefusals = [:]
            log.info("reloaded \(paths.config)")
            heartbeat()
            armTimer()
            reconcile()
        }
    }

    /// SIGTERM/SIGINT: remove everything fastpath attached, then exit.
    func stop() -> Int32 {
        let problems = Teardown.removeEverything(paths: paths)
        for problem in problems { log.error(problem) }
        ignoringErrors { () throws(FastPathError) in try SmallFile.remove(paths.pidFile) }
        log.info("stopped; everything detached")
        return problems.isEmpty ? 0 : 1
    }
}
