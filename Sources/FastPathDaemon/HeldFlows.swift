import FastPathCore
import FastPathKernel

/// Policy conntrack after a firewall ruleset change: the connections taken
/// off the fast path, each direction waiting for proof that the new ruleset
/// accepts it. The proof is a packet of that direction that arrived on its
/// ingress and leaves the router through the kernel, which ran its forward
/// and postrouting hooks on it: the TC egress program stamps the
/// direction's `fp_rechecks` entry. The mirror looks on its heartbeat, so
/// holding flows costs no wakeups.
///
/// A direction whose egress has no fastpath egress program, or that the
/// recheck table has no room for, stays held without an entry: in the
/// kernel path until conntrack forgets the connection. `fp_rechecks` is
/// pinned: a restarted daemon finds what its predecessor held there.
final class HeldFlows {
    let dataPath: DataPath

    /// Stamps this soon after the hold could come from a packet the fast
    /// path was still forwarding as the flow was taken off: not proof.
    static let graceMilliseconds: UInt64 = 50

    struct Waiting {
        var directions: [FlowDirection]
        var zone: UInt16
    }

    private var held: [ConntrackTuple: Waiting] = [:]
    /// Whether the egress program's lookups are on (fp_config); nil until
    /// the first write (an earlier daemon may have left them either way).
    private var rechecking: Bool?

    init(dataPath: DataPath) {
        self.dataPath = dataPath
    }

    var count: Int { held.count }

    func contains(_ tuple: ConntrackTuple) -> Bool { held[tuple] != nil }

    /// Holds a connection whose `directions` are no longer in `fp_flows`;
    /// those that are `provable` are listed for the egress program.
    func hold(_ tuple: ConntrackTuple, _ directions: [FlowDirection], zone: UInt16,
              provable: (FlowDirection) -> Bool) {
        var waiting = held[tuple] ?? Waiting(directions: [], zone: zone)
        for direction in directions where !waiting.directions.contains(direction) {
            if provable(direction) { list(direction) }
            waiting.directions.append(direction)
        }
        held[tuple] = waiting
        updateRechecking()
    }

    /// Another ruleset change: every listed direction needs a new proof.
    func restartAll() {
        for waiting in held.values {
            for direction in waiting.directions where (try? dataPath.recheckPassed(direction.egress)) != nil {
                list(direction)
            }
        }
    }

    /// Whether an earlier daemon held this direction (its entry is kept,
    /// with any proof already stamped).
    func isHeldByEarlierDaemon(_ direction: FlowDirection) -> Bool {
        (try? dataPath.recheckPassed(direction.egress)) != nil
    }

    /// Adopts a direction an earlier daemon held.
    func adopt(_ tuple: ConntrackTuple, _ direction: FlowDirection, zone: UInt16) {
        var waiting = held[tuple] ?? Waiting(directions: [], zone: zone)
        waiting.directions.append(direction)
        held[tuple] = waiting
        updateRechecking()
    }

    /// The held directions whose proof has arrived; they are held no longer.
    func takeProven() -> [(tuple: ConntrackTuple, direction: FlowDirection, zone: UInt16)] {
        var proven: [(tuple: ConntrackTuple, direction: FlowDirection, zone: UInt16)] = []
        for (tuple, waiting) in held {
            var still: [FlowDirection] = []
            for direction in waiting.directions {
                if (try? dataPath.recheckPassed(direction.egress)) == true {
                    try? dataPath.removeRecheck(direction.egress)
                    proven.append((tuple, direction, waiting.zone))
                } else {
                    still.append(direction)
                }
            }
            held[tuple] = still.isEmpty ? nil : Waiting(directions: still, zone: waiting.zone)
        }
        updateRechecking()
        return proven
    }

    /// Stops holding a connection conntrack forgot.
    func release(_ tuple: ConntrackTuple) {
        guard let waiting = held.removeValue(forKey: tuple) else { return }
        for direction in waiting.directions { try? dataPath.removeRecheck(direction.egress) }
        updateRechecking()
    }

    func releaseAll() {
        for tuple in Array(held.keys) { release(tuple) }
        _ = try? dataPath.pruneRechecks(keeping: [])
        updateRechecking()
    }

    /// Releases what conntrack no longer has and deletes recheck entries no
    /// held direction accounts for.
    func keepOnly(_ present: Set<ConntrackTuple>) throws(FastPathError) {
        for tuple in Array(held.keys) where !present.contains(tuple) { release(tuple) }
        var keep: [FlowKey] = []
        for waiting in held.values { keep += waiting.directions.map { $0.egress } }
        _ = try dataPath.pruneRechecks(keeping: keep)
        updateRechecking()
    }

    private func list(_ direction: FlowDirection) {
        try? dataPath.addRecheck(direction.egress, ingress: direction.key.ingress,
                                 notBeforeMilliseconds: HeldFlows.graceMilliseconds)
    }

    private func updateRechecking() {
        let on = !held.isEmpty
        guard on != rechecking else { return }
        if (try? dataPath.setRechecking(on)) != nil { rechecking = on }
    }
}
