import FastPathCore
import FastPathKernel

/// The fastpath daemon: one thread, one poll loop over the kernel's
/// rtnetlink events, a signalfd (HUP reload, TERM/INT stop) and one timer.
/// Kernel events update the kernel view; the pure planner turns (config,
/// view) into a plan; the applier carries it out. Idle means asleep.
public final class Daemon {
    let paths: DaemonPaths
    var config: FastPathConfig
    var log: Log
    let dataPath: DataPath
    let applier: PlanApplier
    let monitor: RouteNetlinkMonitor
    let features: XDPFeatureProbe?
    let prober: NeighbourProber?
    let signals: SignalEvents
    let timer: OneShotTimer
    /// Policy conntrack only: the flow mirror.
    var conntrack: ConntrackMirror?

    var view = KernelView()
    var nextHops = NextHopTracker()
    var routeMTUs = RouteMTUs()
    var nativeRefusals: [String: String] = [:]
    var slots: [String: UInt32] = [:]
    var lastModes: [String: EffectiveMode] = [:]
    var needsReconcile = true
    /// A route, neighbour or link changed: flows' cached next hops are stale.
    var fibChanged = false
    /// When the timer's jobs are due (CLOCK_MONOTONIC ms); the one timer is
    /// armed for the earliest, and not at all when there is none.
    var probeDue: UInt64?
    var heartbeatDue: UInt64?
    /// Policy conntrack: the next look at the egress program's stamps,
    /// while directions listed moments ago may be proven any time.
    var proofsDue: UInt64?

    /// Delay before probing unresolved gateways again.
    static let probeRetryMilliseconds: UInt64 = 5000

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

    init(paths: DaemonPaths, config: FastPathConfig) throws(FastPathError) {
        self.paths = paths
        self.config = config
        log = Log(level: config.globals.logLevel)
        LibBPFLog.setWarningsVisible(config.globals.logLevel == .debug)
        try SmallFile.makeDirectory(paths.runDirectory)
        try SmallFile.write(paths.pidFile, "\(ProcessControl.pid)\n")
        try BPFFileSystem.ensureMounted(at: Daemon.parentDirectory(of: paths.pinDirectory))
        // Pinned maps from an earlier daemon are reused: that is adoption.
        dataPath = try DataPath(objectPath: paths.objectPath, pinDirectory: paths.pinDirectory,
                                maxFlows: UInt32(config.globals.maxFlows),
                                turnedOff: Set(config.globals.disabledCapabilities))
        for degraded in dataPath.capabilities.degraded {
            log.warning("kernel \(dataPath.capabilities.kernelRelease): \(degraded.summary)")
        }
        try dataPath.setFamilies(ipv4: config.globals.ipv4, ipv6: config.globals.ipv6)
        applier = PlanApplier(dataPath: dataPath, qdiscs: QdiscRegistry(path: paths.qdiscFile), log: log)
        signals = try SignalEvents()
        timer = try OneShotTimer()
        // Subscribe before dumping so nothing between the two is missed.
        // Every route change matters to the FIB generation; only gateways
        // are kept (NextHopTracker), so a full table costs no memory.
        monitor = try RouteNetlinkMonitor(routesWithGatewayOnly: false)
        features = dataPath.capabilities.isOff(.xdpFeatures) ? nil : try? XDPFeatureProbe()
        prober = try? NeighbourProber()
        try resync()
        adoptAttachedPrograms()
        heartbeat()
        armTimer()
    }

    /// Programs an earlier daemon attached are adopted when they share this
    /// daemon's maps. When pinned maps had another shape (a new
    /// `max_flows`, another version) they use the old ones: they are
    /// replaced in place by this object's. Checked at every start, so a
    /// start that failed half way is finished by the next.
    func adoptAttachedPrograms() {
        for pin in dataPath.replacedPins {
            let carried = pin.carriedOver.map { "\($0) entries carried over" } ?? "its layout changed, nothing carried over"
            log.info("pinned map \(pin.name) had another shape: replaced (\(carried))")
        }
        let outcome = KernelSurvey.replaceStaleAttachments(on: view.sortedLinks.map { $0.ifindex }, with: dataPath)
        if outcome.replaced > 0 { log.info("replaced \(outcome.replaced) attached programs that used the old maps") }
        for problem in outcome.problems { log.error("replace a program that uses the old maps: \(problem)") }
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

    // MARK: the loop

    func loop() -> Int32 {
        log.info("started (pid \(ProcessControl.pid)), config \(paths.config)")
        while true {
            if needsReconcile { reconcile() }
            let ready: [Bool]
            var descriptors = [monitor.fileDescriptor, signals.fileDescriptor, timer.fileDescriptor]
            if let conntrack { descriptors += [conntrack.fileDescriptor, conntrack.firewallFileDescriptor] }
            do {
                ready = try Poller.wait(descriptors)
            } catch {
                log.error(error.description)
                continue
            }
            if ready[0] { receiveKernelEvents() }
            if ready.count > 4 && ready[4] { conntrack?.receiveFirewallChanges() }
            if ready.count > 3 && ready[3] { conntrack?.receive() }
            if ready[2] && timer.consume() { runDueJobs() }
            scheduleProofs()
            if ready[1] {
                for signal in signals.drain() {
                    switch signal {
                    case .hangup: reload()
                    case .terminate, .interrupt: return stop()
                    case .other: break
                    }
                }
            }
        }
    }

    func receiveKernelEvents() {
        do {
            try monitor.receive { event in self.handle(event) }
        } catch {
            log.error("netlink: \(error.description)")
        }
        if fibChanged {
            fibChanged = false
            ignoringErrors { () throws(FastPathError) in
                try dataPath.setRouteMTUFloor(routeMTUs.floor)
                try dataPath.bumpFIBGeneration()
            }
        }
    }

    // MARK: the timer

    /// New flows are admitted within `ConntrackMirror.promptProofMilliseconds`
    /// of their proof, not at the next heartbeat; an idle router sleeps.
    func scheduleProofs() {
        guard proofsDue == nil, conntrack?.wantsPromptProofs == true else { return }
        proofsDue = MonotonicClock.milliseconds + ConntrackMirror.promptProofMilliseconds
        armTimer()
    }

    func armTimer() {
        let due = [probeDue, heartbeatDue, proofsDue].compactMap { $0 }.min()
        guard let due else {
            timer.disarm()
            return
        }
        let now = MonotonicClock.milliseconds
        timer.arm(milliseconds: due > now ? due - now : 1)
    }

    func runDueJobs() {
        let now = MonotonicClock.milliseconds
        if let due = probeDue, due <= now {
            probeDue = nil
            probeUnresolvedGateways()
        }
        if let due = proofsDue, due <= now {
            proofsDue = nil
            conntrack?.admitProvenDirections()
        }
        if let due = heartbeatDue, due <= now {
            heartbeatDue = nil
            heartbeat()
        }
        armTimer()
    }

    /// Rebuilds the view from a fresh dump (start, and after an overflow).
    func resync() throws(FastPathError) {
        view = KernelView()
        nextHops.resetRoutes()
        routeMTUs.removeAll()
        try monitor.dumpAll { event in self.handle(event) }
        try dataPath.setRouteMTUFloor(routeMTUs.floor)
        needsReconcile = true
    }

    func handle(_ event: KernelEvent) {
        switch event {
        case .link(let link):
            fibChanged = true
            let xdp = try? features?.features(ifindex: link.ifindex)
            view.apply(ViewLink(ifindex: link.ifindex, name: link.name, mac: link.mac, isUp: link.isUp,
                                xdpFeatures: xdp ?? nil,
                                reversePathFilter: KernelSurvey.reversePathFilter(of: link.name)))
            needsReconcile = true
        case .linkRemoved(let ifindex, let name):
            fibChanged = true
            let removed = view.removeLink(ifindex: ifindex)
            // A refusal belongs to the device that refused: one that comes
            // back (a new ifindex) is probed afresh. An attach racing the
            // removal fails with ENODEV, which is no verdict on the driver.
            nativeRefusals[name] = nil
            if let removed { nativeRefusals[removed.name] = nil }
            needsReconcile = true
        case .address(let address):
            ignoringErrors { () throws(FastPathError) in
                try dataPath.addLocalAddress(address.bytes, ifindex: address.ifindex)
            }
        case .addressRemoved(let address):
            ignoringErrors { () throws(FastPathError) in _ = try dataPath.removeLocalAddress(address.bytes) }
        case .route(let route):
            fibChanged = true
            for gateway in nextHops.routeAdded(through: Daemon.gateways(of: route)) { probe(gateway) }
            routeMTUs.routeChanged(Daemon.name(of: route), mtu: route.mtu)
        case .routeRemoved(let route):
            fibChanged = true
            nextHops.routeRemoved(through: Daemon.gateways(of: route))
            routeMTUs.routeRemoved(Daemon.name(of: route))
        case .neighbour(let neighbour):
            fibChanged = true // a MAC may have changed
            let gateway = NextHopTracker.Gateway(ifindex: neighbour.ifindex, address: neighbour.address)
            if nextHops.neighbourChanged(gateway, isValid: neighbour.isReachable) { scheduleProbeRetry() }
        case .neighbourRemoved(let neighbour):
            fibChanged = true
            let gateway = NextHopTracker.Gateway(ifindex: neighbour.ifindex, address: neighbour.address)
            if nextHops.neighbourChanged(gateway, isValid: false) { scheduleProbeRetry() }
        case .overflow:
            log.warning("netlink events overflowed; re-reading the kernel state")
            ignoringErrors { () throws(FastPathError) in try resync() }
        }
    }

    static func name(of route: RouteInfo) -> RouteMTUs.Route {
        RouteMTUs.Route(family: route.family, table: route.table, destination: route.destination,
                        prefixLength: route.prefixLength, priority: route.priority)
    }

    static func gateways(of route: RouteInfo) -> [NextHopTracker.Gateway] {
        route.nextHops.filter { !$0.gateway.isEmpty }.map {
            NextHopTracker.Gateway(ifindex: $0.ifindex, address: $0.gateway)
        }
    }

    // MARK: neighbours

    /// Asks the kernel to resolve a gateway's neighbour (ARP/ND) now.
    func probe(_ gateway: NextHopTracker.Gateway) {
        guard let prober else { return }
        ignoringErrors { () throws(FastPathError) in try prober.probe(ifindex: gateway.ifindex, address: gateway.address) }
        scheduleProbeRetry()
    }

    func scheduleProbeRetry() {
        if probeDue == nil {
            probeDue = MonotonicClock.milliseconds + Daemon.probeRetryMilliseconds
            armTimer()
        }
    }

    /// Timer: probe what is still unresolved; stay asleep once all are.
    func probeUnresolvedGateways() {
        let pending = nextHops.unresolved
        guard let prober, !pending.isEmpty else { return }
        for gateway in pending {
            ignoringErrors { () throws(FastPathError) in try prober.probe(ifindex: gateway.ifindex, address: gateway.address) }
        }
        probeDue = MonotonicClock.milliseconds + Daemon.probeRetryMilliseconds
    }

    /// Policy conntrack: stamp the heartbeat the programs' valve checks.
    /// Other policies need no heartbeat, and the daemon then sleeps.
    func heartbeat() {
        guard usesConntrack else { return }
        ignoringErrors { () throws(FastPathError) in
            try dataPath.beat(valveMilliseconds: UInt64(config.globals.valveTimeout) * 1000)
        }
        conntrack?.heartbeat()
        heartbeatDue = MonotonicClock.milliseconds + heartbeatMilliseconds
    }

    /// Starts or stops the flow mirror as the config asks, and tells it
    /// which interfaces consult the flow table.
    func updateConntrackMirror(_ plan: ReconcilePlan) {
        guard usesConntrack else {
            conntrack?.removeAll()
            conntrack = nil
            // Whatever an earlier daemon listed: the egress program stops looking.
            ignoringErrors { () throws(FastPathError) in
                _ = try dataPath.pruneRechecks(keeping: [])
                try dataPath.setRechecking(false)
                try dataPath.setAdmittedRulesetGeneration(nil)
            }
            return
        }
        let starting = conntrack == nil
        if starting {
            do {
                conntrack = try ConntrackMirror(dataPath: dataPath, log: log)
            } catch {
                log.error("policy conntrack needs conntrack netlink (nf_conntrack_netlink): \(error.description);"
                          + " nothing is offloaded")
                return
            }
        }
        guard let conntrack else { return }
        var interfaces: Set<UInt32> = []
        for interface in plan.interfaces where interface.mode != .none
            && interface.flags & InterfaceFlags.policyConntrack != 0 {
            if let ifindex = interface.ifindex { interfaces.insert(ifindex) }
        }
        conntrack.log = log
        if interfaces != conntrack.interfaces { conntrack.setInterfaces(interfaces) }
        if starting { conntrack.resync() }
    }

    var usesConntrack: Bool {
        config.interfaces.contains { $0.policy == .conntrack && $0.enabled } && config.globals.enabled
    }

    /// A beat every second, or more often for a valve shorter than 3 s.
    var heartbeatMilliseconds: UInt64 {
        min(1000, UInt64(config.globals.valveTimeout) * 1000 / 3)
    }

    // MARK: reconcile, reload, stop

    func reconcile() {
        needsReconcile = false
        for _ in 0..<3 {
            let entries = (try? dataPath.interfaceEntries()) ?? []
            var surveyed = Set(entries.map { $0.ifindex })
            for interface in config.interfaces {
                if let link = view.link(named: interface.device) { surveyed.insert(link.ifindex) }
            }
            let attached = KernelSurvey.attachedState(of: Array(surveyed), entries: entries)
            let plan = ReconcilePlanner.plan(config: config, view: view, attached: attached,
                                             currentRedirectTargets: (try? dataPath.redirectTargets()) ?? [],
                                             nativeRefusals: nativeRefusals, previousSlots: slots)
            var names: [UInt32: String] = [:]
            for link in view.sortedLinks { names[link.ifindex] = link.name }
            let outcome = applier.apply(plan, deviceNames: names)
            slots = plan.slotsByDevice
            if outcome.nativeRefusals.isEmpty {
                // The mirror first: once the state is written (and status
                // answers), conntrack events are already being listened to.
                updateConntrackMirror(plan)
                record(plan)
                return
            }
            for (device, reason) in outcome.nativeRefusals { nativeRefusals[device] = reason }
        }
    }

    /// Writes the applied state for `status` and logs what changed.
    func record(_ plan: ReconcilePlan) {
        for interface in plan.interfaces where lastModes[interface.device] != interface.mode {
            lastModes[interface.device] = interface.mode
            let why = interface.reason.isEmpty ? "" : " (\(interface.reason))"
            log.info("\(interface.device): \(interface.mode.rawValue)\(why)")
        }
        ignoringErrors { () throws(FastPathError) in
            try SmallFile.write(paths.stateFile, RunState(pid: ProcessControl.pid, capabilities: dataPath.capabilities, plan: plan).encoded())
        }
    }

    /// SIGHUP: a valid config replaces the running one; a bad one is
    /// reported and changes nothing.
    func reload() {
        switch ConfigFile.load(paths.config) {
        case .invalid(let lines):
            for line in lines { log.error(line) }
            log.error("reload refused: the config has errors; the running state is unchanged")
        case .valid(let newConfig):
            if newConfig.globals.maxFlows != config.globals.maxFlows
                || newConfig.globals.disabledCapabilities != config.globals.disabledCapabilities {
                // Both are fixed when the object loads: start afresh in
                // place (same pid); the new maps take over the admitted flows.
                log.notice("max_flows or disable_capability changed: restarting in place to load the data path again")
                log.error(ProcessControl.restartInPlace(arguments: commandLine).description)
            }
            config = newConfig
            log.level = newConfig.globals.logLevel
            applier.log = log
            nativeRefusals = [:]
            ignoringErrors { () throws(FastPathError) in
                try dataPath.setFamilies(ipv4: newConfig.globals.ipv4, ipv6: newConfig.globals.ipv6)
            }
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

    func ignoringErrors(_ body: () throws(FastPathError) -> Void) {
        do {
            try body()
        } catch {
            log.warning(error.description)
        }
    }
}
