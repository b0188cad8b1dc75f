import FastPathCore
import FastPathKernel

/// Policy conntrack: the heartbeat and the flow mirror's life.
extension Daemon {
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
            && interface.flags.contains(.policyConntrack) {
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
}
