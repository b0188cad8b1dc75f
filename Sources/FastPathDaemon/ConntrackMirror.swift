import FastPathCore
import FastPathKernel

/// Policy conntrack: keeps `fp_flows` in step with the kernel's conntrack
/// table. Flows the firewall accepted (ASSURED; TCP also ESTABLISHED) are
/// mirrored, both directions with their NAT; flows conntrack destroys, or
/// that leave ESTABLISHED, are removed at once. Flows busy in the fast path
/// get their conntrack timeout refreshed, since the kernel no longer sees
/// their packets.
///
/// A flow was admitted under the firewall rules of its time. When the
/// nftables ruleset changes, every mirrored flow leaves the fast path at
/// once and is held (`HeldFlows`): the kernel carries its packets under the
/// new rules, and each direction comes back only once one of its packets
/// has made it through them. Flows that start after the change are
/// admitted as usual.
///
/// Memory: one small record per mirrored or held flow; mirrored flows are
/// bounded by `max_flows`, held ones by the conntrack table.
final class ConntrackMirror {
    let dataPath: DataPath
    let monitor: ConntrackMonitor
    let control: ConntrackControl
    let routes: RouteLookup
    let firewall: FirewallMonitor
    var log: Log

    /// The ingress interfaces in policy conntrack: only their directions
    /// are worth mirroring (others never consult the flow table).
    var interfaces: Set<UInt32> = []
    /// Every interface with fastpath's programs, so with its egress program:
    /// where a held direction can prove itself.
    var egressInterfaces: Set<UInt32> = []
    /// Flows not mirrored because the table was full (they stay in the kernel).
    private(set) var refusedForFullTable = 0

    private struct Mirrored {
        var directions: [FlowDirection]
        var zone: UInt16
        var proto: UInt8
        /// The newest fast-path activity already answered with a refresh.
        var refreshedActivity: UInt64 = 0
        var refreshedAtMilliseconds: UInt64 = 0

        var keys: [FlowKey] { directions.map { $0.key } }
    }

    private var mirrored: [ConntrackTuple: Mirrored] = [:]
    /// Directions taken off the fast path by a ruleset change.
    private let held: HeldFlows
    /// Until the first full resync: directions an earlier daemon held are
    /// held again rather than mirrored.
    private var adopting = true
    /// A ruleset change was seen (or happened before this daemon started):
    /// dumps admit nothing new.
    private var rulesetChanged = false

    init(dataPath: DataPath, log: Log) throws(FastPathError) {
        self.dataPath = dataPath
        self.log = log
        // With the kernel's default (2), entries created before a listener
        // existed never report their end: ask for events on every entry.
        let events = "/proc/sys/net/netfilter/nf_conntrack_events"
        if (try? SmallFile.read(events))?.hasPrefix("1") != true {
            do { try SmallFile.overwrite(events, "1\n") } catch {
                log.warning("could not enable conntrack events for all entries: \(error.description)")
            }
        }
        monitor = try ConntrackMonitor()
        control = try ConntrackControl()
        routes = try RouteLookup()
        firewall = try FirewallMonitor()
        held = HeldFlows(dataPath: dataPath)
        checkRulesetUnchangedSinceLastDaemon()
    }

    var fileDescriptor: Int32 { monitor.fileDescriptor }
    var firewallFileDescriptor: Int32 { firewall.fileDescriptor }
    var count: Int { mirrored.count }

    // MARK: events

    func receive() {
        var overflowed = false
        do {
            try monitor.receive { event in
                switch event {
                case .new(let entry), .update(let entry): self.consider(entry, fromDump: false)
                case .destroy(let entry): self.remove(entry.original)
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

    /// Takes every mirrored flow off the fast path when the ruleset changed,
    /// and holds it. From then on a conntrack dump admits nothing new: an
    /// entry in it may predate the change, and only an event (delivered
    /// when a packet of the connection passes conntrack's confirm hook,
    /// after the firewall) says the new rules let it through.
    func receiveFirewallChanges() {
        var change: (changed: Bool, generation: UInt32?)
        do {
            change = try firewall.receiveRulesetChanges()
        } catch {
            log.error("nftables events: \(error.description)")
            change = (true, nil)
        }
        guard change.changed else { return }
        rulesetChanged = true
        if !mirrored.isEmpty || held.count > 0 {
            log.info("firewall ruleset changed: \(mirrored.count) flows back to the kernel path until the new rules pass them")
        }
        held.restartAll()
        for (tuple, flow) in mirrored {
            for key in flow.keys { _ = try? dataPath.removeFlow(key) }
            held.hold(tuple, flow.directions, zone: flow.zone) { egressInterfaces.contains($0.egress.ingress) }
        }
        mirrored.removeAll()
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

    /// At start: if the ruleset changed while no daemon watched (or nobody
    /// recorded under which ruleset the pinned flows were admitted), what an
    /// earlier daemon mirrored or held proves nothing now.
    private func checkRulesetUnchangedSinceLastDaemon() {
        let current = try? firewall.currentGeneration()
        let recorded = try? dataPath.admittedRulesetGeneration()
        let leftovers = ((try? dataPath.flowCount()) ?? 0) > 0
        // Unknown on either side: only leftover entries are suspect.
        let changed = (current == nil || recorded == nil) ? leftovers : recorded != current
        if changed {
            log.info("firewall ruleset changed since flows were admitted: they start again in the kernel path")
            _ = try? dataPath.pruneFlows(keeping: [])
            _ = try? dataPath.pruneRechecks(keeping: [])
            rulesetChanged = true
        }
        recordRulesetGeneration(current)
    }

    /// Heartbeat: mirrors again the held directions the new rules let through.
    func readmitProvenFlows() {
        guard held.count > 0 else { return }
        for (tuple, direction, zone) in held.takeProven() where add(direction) {
            var flow = mirrored[tuple] ?? Mirrored(directions: [], zone: zone, proto: tuple.proto)
            flow.directions.append(direction)
            mirrored[tuple] = flow
        }
    }

    /// Mirrors what the table holds now and drops what it no longer does.
    func resync() {
        var seen: Set<ConntrackTuple> = []
        do {
            try monitor.dumpAll { entry in
                seen.insert(entry.original)
                self.consider(entry, fromDump: true)
            }
        } catch {
            log.error("conntrack dump: \(error.description)")
            return
        }
        for tuple in Array(mirrored.keys) where !seen.contains(tuple) { remove(tuple) }
        do {
            try held.keepOnly(seen)
        } catch {
            log.error("prune recheck table: \(error.description)")
        }
        adopting = false
        // Entries no mirrored flow accounts for (left by a daemon that died,
        // for flows conntrack has forgotten since) must not keep forwarding.
        var current: [FlowKey] = []
        for flow in mirrored.values { current += flow.keys }
        do {
            let pruned = try dataPath.pruneFlows(keeping: current)
            if pruned > 0 { log.info("removed \(pruned) stale fast-path flow entries") }
        } catch {
            log.error("prune flow table: \(error.description)")
        }
    }

    private func consider(_ entry: ConntrackEntry, fromDump: Bool) {
        let connection = ConntrackMirror.tracked(entry)
        guard FlowMirror.isEligible(connection) else {
            remove(entry.original)
            return
        }
        guard mirrored[entry.original] == nil, !held.contains(entry.original) else { return }
        guard let originalIngress = ingress(toward: entry.original), let replyIngress = ingress(toward: entry.reply)
        else { return }
        var directions: [FlowDirection] = []
        for direction in FlowMirror.entries(of: connection, originalIngress: originalIngress, replyIngress: replyIngress)
        where interfaces.contains(direction.key.ingress) {
            if adopting && held.isHeldByEarlierDaemon(direction) {
                held.adopt(entry.original, direction, zone: entry.zone)
            } else if fromDump && rulesetChanged {
                continue // may predate the change: wait for an event
            } else if add(direction) {
                directions.append(direction)
            }
        }
        guard !directions.isEmpty else { return }
        mirrored[entry.original] = Mirrored(directions: directions, zone: entry.zone, proto: entry.original.proto)
        if entry.original.proto == ConntrackTuple.tcp {
            // Offloaded segments skip conntrack's window tracking: without
            // this the FIN it sees at the end would be INVALID and dropped.
            do {
                if try !control.makeLiberal(entry.original, zone: entry.zone) { remove(entry.original) }
            } catch {
                log.warning("conntrack: \(error.description); the flow stays in the kernel path")
                remove(entry.original)
            }
        }
    }

    /// Writes a direction into `fp_flows`; false if it stays in the kernel.
    private func add(_ direction: FlowDirection) -> Bool {
        do {
            try dataPath.addFlow(direction.key, rewrite: direction.rewrite, egress: direction.egress.ingress)
            return true
        } catch {
            if error.isAlreadyPresent { return true } // left by an earlier daemon: adopt it
            if error.isMapFull {
                refusedForFullTable += 1
                if refusedForFullTable == 1 || refusedForFullTable % 1000 == 0 {
                    log.warning("flow table full (max_flows): \(refusedForFullTable) flows stayed in the kernel path")
                }
            } else {
                log.warning("mirror flow: \(error.description)")
            }
            return false
        }
    }

    /// The interface packets of a direction arrive on: the one leading
    /// back to their source.
    private func ingress(toward tuple: ConntrackTuple) -> UInt32? {
        guard let ifindex = try? routes.outputInterface(toward: tuple.source, family: tuple.family) else { return nil }
        return ifindex
    }

    func remove(_ original: ConntrackTuple) {
        held.release(original)
        guard let flow = mirrored.removeValue(forKey: original) else { return }
        for key in flow.keys { _ = try? dataPath.removeFlow(key) }
    }

    func removeAll() {
        for tuple in Array(mirrored.keys) { remove(tuple) }
        held.releaseAll()
    }

    // MARK: keeping conntrack true

    /// Refreshes the conntrack timeout of flows that carried packets in the
    /// fast path since their last refresh, at most every quarter timeout, so
    /// conntrack never expires a flow that is alive.
    func refreshActiveFlows() {
        let now = MonotonicClock.milliseconds
        let tcpTimeout = ConntrackMirror.sysctl("nf_conntrack_tcp_timeout_established", default: 432_000)
        let udpTimeout = ConntrackMirror.sysctl("nf_conntrack_udp_timeout_stream", default: 120)
        for (tuple, flow) in mirrored {
            let timeout = flow.proto == 6 ? tcpTimeout : udpTimeout
            let interval = max(UInt64(timeout) * 250, 500)
            guard now >= flow.refreshedAtMilliseconds + interval else { continue }
            var newest: UInt64 = 0
            for key in flow.keys {
                if let activity = try? dataPath.flowActivity(key) { newest = max(newest, activity.lastSeenNanoseconds) }
            }
            guard newest > flow.refreshedActivity else { continue }
            var updated = flow
            updated.refreshedActivity = newest
            updated.refreshedAtMilliseconds = now
            mirrored[tuple] = updated
            do {
                if try !control.setTimeout(tuple, seconds: timeout, zone: flow.zone) { remove(tuple) }
            } catch {
                log.warning("refresh conntrack timeout: \(error.description)")
            }
        }
    }

    /// A conntrack timeout of this namespace, in seconds.
    static func sysctl(_ name: String, default fallback: UInt32) -> UInt32 {
        guard let text = try? SmallFile.read("/proc/sys/net/netfilter/" + name),
              let value = UInt32(text.split(separator: "\n").first ?? "") else { return fallback }
        return value
    }

    static func tracked(_ entry: ConntrackEntry) -> TrackedConnection {
        func tuple(_ t: ConntrackTuple) -> TrackedConnection.Tuple {
            .init(source: t.source, destination: t.destination, sourcePort: t.sourcePort, destinationPort: t.destinationPort)
        }
        return TrackedConnection(family: entry.original.family, proto: entry.original.proto,
                                 original: tuple(entry.original), reply: tuple(entry.reply),
                                 isAssured: entry.isAssured, isTCPEstablished: entry.isTCPEstablished,
                                 isDying: entry.isDying, zone: entry.zone)
    }
}
