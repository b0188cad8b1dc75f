import FastPathCore
import FastPathKernel

/// The fastpath daemon: one thread, one poll loop over the kernel's
/// rtnetlink events, a signalfd (HUP reload, TERM/INT stop) and one timer.
/// Kernel events update the kernel view; the pure planner turns (config,
/// view) into a plan; the applier carries it out. Idle means asleep.
public final class Daemon {
    let paths: DaemonPaths
    var config: FastPathConfig
    let log: Log
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
    /// The mode last logged, by "section device".
    var lastModes: [String: EffectiveMode] = [:]
    /// netifd interface → its device, as the init script last wrote them.
    var networkDevices: [String: String] = [:]
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

    init(paths: DaemonPaths, config: FastPathConfig) throws(FastPathError) {
        self.paths = paths
        self.config = config
        log = Log(level: config.globals.logLevel)
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
        applier = PlanApplier(dataPath: dataPath, qdiscs: QdiscRegistry(path: paths.qdiscFile), log: log)
        signals = try SignalEvents()
        timer = try OneShotTimer()
        // Subscribe before dumping so nothing between the two is missed.
        // Every route change matters to the FIB generation; only gateways
        // are kept (NextHopTracker), so a full table costs no memory.
        monitor = try RouteNetlinkMonitor(routesWithGatewayOnly: false)
        features = dataPath.capabilities.isOff(.xdpFeatures) ? nil : try? XDPFeatureProbe()
        prober = try? NeighbourProber()
        readNetworkDevices()
        try resync()
        adoptAttachedPrograms()
        heartbeat()
        armTimer()
    }

    func ignoringErrors(_ body: () throws(FastPathError) -> Void) {
        do {
            try body()
        } catch {
            log.warning(error.description)
        }
    }
}
