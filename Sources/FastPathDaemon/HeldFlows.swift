import FastPathCore
import FastPathKernel

/// Policy conntrack after a firewall ruleset change: the flow directions
/// taken off the fast path, each waiting for proof that the new ruleset
/// accepts it. The proof is a packet of that direction leaving the router
/// through the kernel, which ran its forward and postrouting hooks on it:
/// the TC egress program stamps the direction's `fp_rechecks` entry. The
/// mirror looks on its heartbeat, so holding flows costs no wakeups.
///
/// `fp_rechecks` is pinned: a restarted daemon finds what its predecessor
/// held there (`isHeldByEarlierDaemon`) and keeps holding it.
final class HeldFlows {
    let dataPath: DataPath

    struct Waiting {
        var directions: [FlowDirection]
        var zone: UInt16
    }

    private var held: [ConntrackTuple: Waiting] = [:]
    /// Whether the egress program's lookups are on (fp_config); unknown
    /// (an earlier daemon may have left them on) until the first write.
    private var rechecking = true

    init(dataPath: DataPath) {
        self.dataPath = dataPath
    }

    var count: Int { held.count }

    func contains(_ tuple: ConntrackTuple) -> Bool { held[tuple] != nil }

    /// Holds `directions` of a connection (they are no longer in `fp_flows`).
    /// A direction the recheck table has no room for stays in the kernel.
    func hold(_ tuple: ConntrackTuple, _ directions: [FlowDirection], zone: UInt16) throws(FastPathError) {
        var waiting = held[tuple] ?? Waiting(directions: [], zone: zone)
        for direction in directions where !waiting.directions.contains(direction) {
            try dataPath.addRecheck(direction.egress) // resets an earlier stamp
            waiting.directions.append(direction)
        }
        held[tuple] = waiting
        try setRechecking(!held.isEmpty)
    }

    /// Resets every held direction's proof (another ruleset change).
    func restartAll() throws(FastPathError) {
        for waiting in held.values {
            for direction in waiting.directions { try dataPath.addRecheck(direction.egress) }
        }
    }

    /// Whether an earlier daemon held this direction (its entry is kept,
    /// with any proof already stamped).
    func isHeldByEarlierDaemon(_ direction: FlowDirection) -> Bool {
        (try? dataPath.recheckPassed(direction.egress)) != nil
    }

    /// Adopts a direction an earlier daemon held.
    func adopt(_ tuple: ConntrackTuple, _ direction: FlowDirection, zone: UInt16) throws(FastPathError) {
        var waiting = held[tuple] ?? Waiting(directions: [], zone: zone)
        waiting.directions.append(direction)
        held[tuple] = waiting
        try setRechecking(true)
    }

    /// The held directions whose proof has arrived; they are held no longer.
    func takeProven() throws(FastPathError) -> [(tuple: ConntrackTuple, direction: FlowDirection, zone: UInt16)] {
        var proven: [(tuple: ConntrackTuple, direction: FlowDirection, zone: UInt16)] = []
        for (tuple, waiting) in held {
            var still: [FlowDirection] = []
            for direction in waiting.directions {
                if try dataPath.recheckPassed(direction.egress) == true {
                    try dataPath.removeRecheck(direction.egress)
                    proven.append((tuple, direction, waiting.zone))
                } else {
                    still.append(direction)
                }
            }
            held[tuple] = still.isEmpty ? nil : Waiting(directions: still, zone: waiting.zone)
        }
        try setRechecking(!held.isEmpty)
        return proven
    }

    /// Stops holding a connection conntrack forgot.
    func release(_ tuple: ConntrackTuple) {
        guard let waiting = held.removeValue(forKey: tuple) else { return }
        for direction in waiting.directions { try? dataPath.removeRecheck(direction.egress) }
        if held.isEmpty { try? setRechecking(false) }
    }

    func releaseAll() {
        for tuple in Array(held.keys) { release(tuple) }
    }

    /// Releases what conntrack no longer has and deletes recheck entries no
    /// held direction accounts for; returns how many entries went.
    func keepOnly(_ present: Set<ConntrackTuple>) throws(FastPathError) -> Int {
        for tuple in Array(held.keys) where !present.contains(tuple) { release(tuple) }
        var keep: [FlowKey] = []
        for waiting in held.values { keep += waiting.directions.map { $0.egress } }
        let pruned = try dataPath.pruneRechecks(keeping: keep)
        try setRechecking(!held.isEmpty)
        return pruned
    }

    private func setRechecking(_ on: Bool) throws(FastPathError) {
        guard on != rechecking else { return }
        try dataPath.setRechecking(on)
        rechecking = on
    }
}
