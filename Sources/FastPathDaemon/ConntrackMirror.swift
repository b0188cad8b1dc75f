import FastPathCore
import FastPathKernel

/// Policy conntrack: keeps `fp_flows` in step with the kernel's conntrack
/// table and firewall, as `Admission` decides. This type only gathers what
/// the kernel says (conntrack events and dumps, the egress program's
/// stamps, nftables ruleset changes) and applies the map operations.
///
/// It also keeps conntrack true for admitted flows: their timeouts are
/// refreshed while the fast path carries them (the kernel no longer sees
/// their packets), and an entry that cannot report its end (made before
/// anyone listened) is asked for on every heartbeat, so a deleted entry
/// leaves the fast path within a heartbeat.
///
/// Memory: one small record per tracked TCP/UDP connection; admitted
/// directions are bounded by `max_flows`.
final class ConntrackMirror {
    let dataPath: DataPath
    let monitor: ConntrackMonitor
    let control: ConntrackControl
    let firewall: FirewallMonitor
    let log: Log

    private var admission: Admission
    /// Directions not admitted because the table was full (they stay in the kernel).
    private(set) var refusedForFullTable = 0
    /// Map writes that failed for another reason.
    private(set) var mapErrors = 0
    /// Whether the egress program's lookups are on (fp_config); nil until
    /// the first write (an earlier daemon may have left them either way).
    private var rechecking: Bool?

    /// Stamps this soon after a direction is listed could come from a
    /// packet the fast path was still forwarding as it was taken off: not proof.
    static let graceMilliseconds: UInt64 = 50
    /// How often stamps are read while directions listed in the last
    /// `promptWindowMilliseconds` wait; later ones at each heartbeat.
    static let promptProofMilliseconds: UInt64 = 50
    static let promptWindowMilliseconds: UInt64 = 3000
    private var lastWatchMilliseconds: UInt64 = 0

    /// Directions were listed moments ago: their proofs are looked for often.
    var wantsPromptProofs: Bool {
        admission.isAwaitingProof && MonotonicClock.milliseconds < lastWatchMilliseconds + ConntrackMirror.promptWindowMilliseconds
    }

    init(dataPath: DataPath, log: Log) throws(FastPathError) {
        self.dataPath = dataPath
        self.log = log
        // With the kernel's default (2), entries created before a listener
        // existed never report their end: ask for events on every new entry.
        let events = "/proc/sys/net/netfilter/nf_conntrack_events"
        if (try? SmallFile.read(events))?.hasPrefix("1") != true {
            do { try SmallFile.overwrite(events, "1\n") } catch {
                log.warning("could not enable conntrack events for all entries: \(error.description)")
            }
        }
        monitor = try ConntrackMonitor()
        control = try ConntrackControl()
        firewall = try FirewallMonitor()
        admission = Admission(marksSupported: !dataPath.capabilities.isOff(.fibMark))
        adoptWhatAnEarlierDaemonAdmitted()
    }

    var count: Int { admission.connectionCount }
    var interfaces: Set<UInt32> { admission.interfaces }

    /// The ingress interfaces in policy conntrack changed.
    func setInterfaces(_ interfaces: Set<UInt32>) {
        apply(admission.setInterfaces(interfaces))
    }

    // MARK: events

    func receive() {
        var overflowed = false
        do {
            try monitor.receive { event in
                switch event {
                case .new(let entry), .update(let entry):
                    self.apply(self.admission.observe(entry, reportedByEvent: true))
                    self.admitProvenDirections(of: entry.original)
                case .destroy(let entry): self.apply(self.admission.forget(entry.original))
                case .overflow: overflowed = true
                }
            }
        } catch {
            log.error("conntrack events: \(error.description)")
        }
        if overflowed {
            log.warning("conntrack events overflowed; re-reading the table")
            resync()
        }
    }

    /// Every direction leaves the fast path when the ruleset changed, and
    /// comes back once one of its packets passes the new rules.
    func receiveFirewallChanges() {
        var change: (changed: Bool, generation: UInt32?)
        do {
            change = try firewall.receiveRulesetChanges()
        } catch {
            log.error("nftables events: \(error.description)")
            change = (true, nil)
        }
        guard change.changed else { return }
        let admitted = admission.admittedKeys.count
        if admitted > 0 { log.info("firewall ruleset changed: \(admitted) flow directions back to the kernel path until the new rules pass them") }
        apply(admission.rulesetChanged())
        recordRulesetGeneration(change.generation ?? (try? firewall.currentGeneration()))
    }

    /// Pins the generation the flows are admitted under (nil: unknown).
    private func recordRulesetGeneration(_ generation: UInt32?) {
        do {
            try dataPath.setAdmittedRulesetGeneration(generation)
        } catch {
            log.warning("record the nftables generation: \(error.description)")
        }
    }

    /// At start: what an earlier daemon admitted stays in the fast path if
    /// the ruleset is the one it was admitted under; otherwise (or if that
    /// is unknown) it starts again in the kernel path. Half-proven
    /// directions are listed again from scratch.
    private func adoptWhatAnEarlierDaemonAdmitted() {
        let current = try? firewall.currentGeneration()
        let recorded = try? dataPath.admittedRulesetGeneration()
        do {
            _ = try dataPath.pruneRechecks(keeping: [])
            if let current, let recorded, current == recorded {
                admission.inherit(try dataPath.flowEntries())
            } else if try dataPath.pruneFlows(keeping: []) > 0 {
                log.info("firewall ruleset changed since flows were admitted: they start again in the kernel path")
            }
        } catch {
            log.error("adopt the flow table: \(error.description)")
            mapErrors += 1
        }
        recordRulesetGeneration(current)
    }

    /// Reads the whole table: what it holds now is observed, what it no
    /// longer holds is forgotten.
    func resync() {
        var seen: Set<ConntrackTuple> = []
        var operations: [Admission.Operation] = []
        do {
            try monitor.dumpAll { entry in
                seen.insert(entry.original)
                operations += self.admission.observe(entry, reportedByEvent: false)
            }
        } catch {
            log.error("conntrack dump: \(error.description)")
            apply(operations)
            return
        }
        apply(operations + admission.keepOnly(seen))
    }

    func removeAll() {
        var operations: [Admission.Operation] = []
        for key in admission.admittedKeys { operations.append(.withdraw(key)) }
        for key in admission.awaitingProof { operations.append(.unwatch(key)) }
        admission = Admission(marksSupported: admission.marksSupported)
        apply(operations)
    }

    // MARK: the heartbeat

    /// Ruleset changes first (a stamp read after a change it predates must
    /// not count), then the stamps, then the entries that report no end.
    func heartbeat() {
        receiveFirewallChanges()
        admitProvenDirections()
        forgetSilentlyDeletedEntries()
        refreshActiveFlows()
    }

    /// Reads the stamps of the directions awaiting proof (of one connection).
    func admitProvenDirections(of original: ConntrackTuple? = nil) {
        var operations: [Admission.Operation] = []
        for leaving in original.map({ admission.awaitingProof(of: $0) }) ?? admission.awaitingProof {
            do {
                if let proof = try dataPath.recheckProof(leaving) { operations += admission.prove(leaving, proof) }
            } catch {
                countMapError("read a recheck stamp", error)
            }
        }
        apply(operations)
    }

    private func forgetSilentlyDeletedEntries() {
        for entry in admission.silentAdmitted {
            do {
                if try !control.exists(entry.original, zone: entry.zone) { apply(admission.forget(entry.original)) }
            } catch {
                log.warning("conntrack: \(error.description)")
            }
        }
    }

    /// Refreshes the conntrack timeout of flows that carried packets in the
    /// fast path since their last refresh, at most every quarter timeout, so
    /// conntrack never expires a flow that is alive.
    private func refreshActiveFlows() {
        let now = MonotonicClock.milliseconds
        let tcpTimeout = ConntrackMirror.sysctl("nf_conntrack_tcp_timeout_established", default: 432_000)
        let udpTimeout = ConntrackMirror.sysctl("nf_conntrack_udp_timeout_stream", default: 120)
        for (entry, keys) in admission.admittedByConnection {
            let timeout = entry.original.proto == ConntrackTuple.tcp ? tcpTimeout : udpTimeout
            let interval = max(UInt64(timeout) * 250, 500)
            var refresh = refreshes[entry.original] ?? Refresh()
            guard now >= refresh.atMilliseconds + interval else { continue }
            var newest: UInt64 = 0
            for key in keys {
                do {
                    if let activity = try dataPath.flowActivity(key) { newest = max(newest, activity.lastSeenNanoseconds) }
                } catch {
                    countMapError("read flow activity", error)
                }
            }
            guard newest > refresh.activity else { continue }
            refresh = Refresh(activity: newest, atMilliseconds: now)
            refreshes[entry.original] = refresh
            do {
                if try !control.setTimeout(entry.original, seconds: timeout, zone: entry.zone) {
                    apply(admission.forget(entry.original))
                }
            } catch {
                log.warning("refresh conntrack timeout: \(error.description)")
            }
        }
        if refreshes.count > admission.connectionCount * 2 + 64 {
            let tracked = Set(admission.admittedByConnection.map { $0.entry.original })
            refreshes = refreshes.filter { tracked.contains($0.key) }
        }
    }

    private struct Refresh {
        /// The newest fast-path activity already answered with a refresh.
        var activity: UInt64 = 0
        var atMilliseconds: UInt64 = 0
    }

    private var refreshes: [ConntrackTuple: Refresh] = [:]

    /// A conntrack timeout of this namespace, in seconds.
    static func sysctl(_ name: String, default fallback: UInt32) -> UInt32 {
        guard let text = try? SmallFile.read("/proc/sys/net/netfilter/" + name),
              let value = UInt32(text.split(separator: "\n").first ?? "") else { return fallback }
        return value
    }

    // MARK: applying

    private func apply(_ operations: [Admission.Operation]) {
        var followUps: [Admission.Operation] = []
        for operation in operations {
            do {
                switch operation {
                case .watch(let leaving), .rewatch(let leaving):
                    let grace = operation == .rewatch(leaving) ? ConntrackMirror.graceMilliseconds : 0
                    try dataPath.addRecheck(leaving, notBeforeMilliseconds: grace)
                    lastWatchMilliseconds = MonotonicClock.milliseconds
                case .unwatch(let leaving):
                    try dataPath.removeRecheck(leaving)
                case .admit(let key, let rewrite, let snatEgress, let mark):
                    followUps += admit(key, rewrite, snatEgress: snatEgress, mark: mark)
                case .withdraw(let key):
                    _ = try dataPath.removeFlow(key)
                case .beLiberal(let original, let zone):
                    // Offloaded segments skip conntrack's window tracking:
                    // without this the FIN it sees at the end would be INVALID.
                    if try !control.makeLiberal(original, zone: zone) { followUps += admission.forget(original) }
                }
            } catch {
                if case .beLiberal(let original, _) = operation {
                    log.warning("conntrack: \(error.description); the flow stays in the kernel path")
                    followUps += admission.forget(original)
                } else {
                    countMapError("update the flow tables", error)
                }
            }
        }
        if !followUps.isEmpty { apply(followUps) }
        updateRechecking()
        noteDirectionsKeptForTheirMark()
    }

    private var loggedKeptForMark = 0

    /// Says (the first time, then every 1000) that directions the kernel
    /// routed with a mark stay in the kernel path on this kernel.
    private func noteDirectionsKeptForTheirMark() {
        let kept = admission.keptForMark
        guard kept > loggedKeptForMark, loggedKeptForMark == 0 || kept / 1000 > loggedKeptForMark / 1000 else { return }
        loggedKeptForMark = kept
        log.notice("\(kept) flow directions routed with a mark stay in the kernel path: this kernel's route lookups cannot carry a mark (fib_mark)")
    }

    /// Writes a direction into `fp_flows`; on failure it waits for a new proof.
    private func admit(_ key: FlowKey, _ rewrite: FlowRewrite, snatEgress: UInt32, mark: UInt32) -> [Admission.Operation] {
        do {
            try dataPath.addFlow(key, rewrite: rewrite, snatEgress: snatEgress, mark: mark)
            return []
        } catch {
            if error.isAlreadyPresent { return [] }
            if error.isMapFull {
                refusedForFullTable += 1
                if refusedForFullTable == 1 || refusedForFullTable % 1000 == 0 {
                    log.warning("flow table full (max_flows): \(refusedForFullTable) flow directions stayed in the kernel path")
                }
            } else {
                countMapError("mirror flow", error)
            }
            return admission.admissionFailed(key)
        }
    }

    private func countMapError(_ what: String, _ error: FastPathError) {
        mapErrors += 1
        if mapErrors == 1 || mapErrors % 1000 == 0 { log.warning("\(what): \(error.description) (\(mapErrors) map errors so far)") }
    }

    private func updateRechecking() {
        let on = admission.isAwaitingProof
        guard on != rechecking else { return }
        do {
            try dataPath.setRechecking(on)
            rechecking = on
        } catch {
            countMapError("switch the egress program", error)
        }
    }
}
