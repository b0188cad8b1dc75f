/// Policy conntrack: which directions of which conntrack entries the fast
/// path carries. Pure: the daemon reports what conntrack says, what the
/// egress program stamped and when the ruleset changed, and applies the
/// map operations it gets back.
///
/// A direction enters the fast path only when both hold:
/// - its entry is eligible (`FlowMirror.isEligible`: ASSURED, TCP
///   ESTABLISHED);
/// - a packet of that very direction passed the firewall and left the
///   router under the current ruleset: the egress program's stamp
///   (`Proof`). ASSURED alone proves nothing, since conntrack marks a
///   reply in prerouting, before the forward chain may drop it.
///
/// The stamp also says how the kernel carried the direction (where it came
/// in, where it left, its mark), and that is what the fast path repeats.
public struct Admission {
    /// What the egress program recorded about a packet of a direction.
    public struct Proof: Equatable, Sendable {
        public var ingress: UInt32
        public var egress: UInt32
        public var mark: UInt32

        public init(ingress: UInt32, egress: UInt32, mark: UInt32 = 0) {
            self.ingress = ingress
            self.egress = egress
            self.mark = mark
        }
    }

    public enum Operation: Equatable {
        /// List the direction's leaving tuple in `fp_rechecks`, unstamped.
        case watch(FlowKey)
        /// The same for a direction just taken off the fast path: stamps
        /// within a grace time may come from packets it was still carrying.
        case rewatch(FlowKey)
        case unwatch(FlowKey)
        /// Write the direction into `fp_flows`.
        case admit(FlowKey, FlowRewrite, snatEgress: UInt32, mark: UInt32)
        case withdraw(FlowKey)
        /// TCP: conntrack no longer sees the packets, so its window
        /// tracking must be liberal (or the closing FIN is INVALID).
        case beLiberal(ConntrackTuple, zone: UInt16)
    }

    struct Direction {
        var flow: FlowDirection
        var proof: Proof?
        /// The `fp_flows` key it is in the fast path under.
        var admitted: FlowKey?
    }

    struct Connection {
        var entry: ConntrackEntry
        var directions: [Direction]
        /// An event was seen for it, so its end will be reported too.
        var reportsEvents: Bool
        var isLiberal = false
    }

    private var connections: [ConntrackTuple: Connection] = [:]
    /// Leaving tuple → the connection it belongs to.
    private var watched: [FlowKey: ConntrackTuple] = [:]
    /// `fp_flows` entries an earlier daemon admitted, by tuple (ingress 0).
    private var inherited: [FlowKey: (key: FlowKey, rewrite: FlowRewrite)] = [:]

    /// The interfaces in policy conntrack: only packets arriving on them
    /// consult the flow table.
    public private(set) var interfaces: Set<UInt32> = []
    /// Whether lookups can carry a mark (`KernelCapability.fibMark`).
    public let marksSupported: Bool
    /// Proven directions left in the kernel path because the kernel routed
    /// them with a mark the lookups cannot carry.
    public private(set) var keptForMark = 0

    public init(marksSupported: Bool) {
        self.marksSupported = marksSupported
    }

    public var connectionCount: Int { connections.count }

    public var isAwaitingProof: Bool { !watched.isEmpty }

    /// The leaving tuples whose stamps are awaited.
    public var awaitingProof: [FlowKey] { Array(watched.keys) }

    /// The leaving tuples of one connection whose stamps are awaited.
    public func awaitingProof(of original: ConntrackTuple) -> [FlowKey] {
        connections[original]?.directions.compactMap { watched[$0.flow.egress] == nil ? nil : $0.flow.egress } ?? []
    }

    /// The `fp_flows` keys in the fast path.
    public var admittedKeys: [FlowKey] {
        connections.values.flatMap { $0.directions.compactMap { $0.admitted } }
    }

    /// Connections with directions in the fast path whose end conntrack
    /// may never report (seen only in a dump: entries made before anyone
    /// listened carry no event extension). Ask the kernel for them.
    public var silentAdmitted: [ConntrackEntry] {
        connections.values.filter { !$0.reportsEvents && $0.directions.contains { $0.admitted != nil } }.map { $0.entry }
    }

    /// Admitted directions with their connection: for timeout refreshes.
    public var admittedByConnection: [(entry: ConntrackEntry, keys: [FlowKey])] {
        connections.values.compactMap { connection in
            let keys = connection.directions.compactMap { $0.admitted }
            return keys.isEmpty ? nil : (connection.entry, keys)
        }
    }

    /// At start: the entries an earlier daemon left in `fp_flows` under
    /// the same ruleset, adopted when conntrack shows their connection
    /// with the same translation.
    public mutating func inherit(_ entries: [(key: FlowKey, rewrite: FlowRewrite)]) {
        for entry in entries {
            var tuple = entry.key
            tuple.ingress = 0
            inherited[tuple] = entry
        }
    }

    /// Conntrack reported an entry (event or dump).
    public mutating func observe(_ entry: ConntrackEntry, reportedByEvent: Bool) -> [Operation] {
        let proto = entry.original.proto
        let closing = proto == ConntrackTuple.tcp && entry.tcpState.map { $0 > ConntrackEntry.tcpEstablished } == true
        guard proto == ConntrackTuple.tcp || proto == ConntrackTuple.udp, !entry.isDying, !closing else {
            return forget(entry.original)
        }
        var operations: [Operation] = []
        if let known = connections[entry.original], known.entry.reply != entry.reply || known.entry.zone != entry.zone {
            // Another connection with the same original tuple (the first
            // one's end was missed): its translation may differ.
            operations += forget(entry.original)
        }
        if var connection = connections[entry.original] {
            connection.entry = entry
            connection.reportsEvents = connection.reportsEvents || reportedByEvent
            connections[entry.original] = connection
        } else {
            var connection = Connection(entry: entry, directions: [], reportsEvents: reportedByEvent)
            for flow in FlowMirror.directions(of: entry) {
                let earlier = inherited.removeValue(forKey: flow.key)
                if let earlier, earlier.rewrite == flow.rewrite {
                    connection.directions.append(Direction(flow: flow, admitted: earlier.key))
                    connection.isLiberal = true // the earlier daemon did it
                } else {
                    if let earlier { operations.append(.withdraw(earlier.key)) }
                    connection.directions.append(Direction(flow: flow))
                    watched[flow.egress] = entry.original
                    operations.append(.watch(flow.egress))
                }
            }
            connections[entry.original] = connection
        }
        return operations + admitProven(entry.original)
    }

    /// The egress program stamped the direction that leaves as `leaving`.
    public mutating func prove(_ leaving: FlowKey, _ proof: Proof) -> [Operation] {
        guard let tuple = watched[leaving], var connection = connections[tuple],
              let index = connection.directions.firstIndex(where: { $0.flow.egress == leaving }) else { return [] }
        connection.directions[index].proof = proof
        connections[tuple] = connection
        return admitProven(tuple)
    }

    /// Conntrack forgot the entry (or it left the states the fast path carries).
    public mutating func forget(_ original: ConntrackTuple) -> [Operation] {
        guard let connection = connections.removeValue(forKey: original) else { return [] }
        var operations: [Operation] = []
        for direction in connection.directions {
            if let key = direction.admitted { operations.append(.withdraw(key)) }
            if watched.removeValue(forKey: direction.flow.egress) != nil { operations.append(.unwatch(direction.flow.egress)) }
        }
        return operations
    }

    /// After a full dump: forgets what conntrack no longer has, and drops
    /// inherited entries no connection claimed.
    public mutating func keepOnly(_ present: Set<ConntrackTuple>) -> [Operation] {
        var operations: [Operation] = []
        for tuple in Array(connections.keys) where !present.contains(tuple) { operations += forget(tuple) }
        operations += inherited.values.map { .withdraw($0.key) }
        inherited.removeAll()
        return operations
    }

    /// Writing an admitted direction failed (the table is full): it stays
    /// in the kernel path and waits for a new proof, so it is tried again.
    public mutating func admissionFailed(_ key: FlowKey) -> [Operation] {
        for (tuple, var connection) in connections {
            guard let index = connection.directions.firstIndex(where: { $0.admitted == key }) else { continue }
            let leaving = connection.directions[index].flow.egress
            connection.directions[index].admitted = nil
            connection.directions[index].proof = nil
            connections[tuple] = connection
            watched[leaving] = tuple
            return [.watch(leaving)]
        }
        return []
    }

    /// The nftables ruleset changed: every direction leaves the fast path
    /// and needs a new proof, stamped under the new rules.
    public mutating func rulesetChanged() -> [Operation] {
        var operations = inherited.values.map { Operation.withdraw($0.key) }
        inherited.removeAll()
        for (tuple, var connection) in connections {
            for index in connection.directions.indices {
                let leaving = connection.directions[index].flow.egress
                let wasAdmitted = connection.directions[index].admitted
                if let key = wasAdmitted { operations.append(.withdraw(key)) }
                connection.directions[index].admitted = nil
                connection.directions[index].proof = nil
                watched[leaving] = tuple
                operations.append(wasAdmitted == nil ? .watch(leaving) : .rewatch(leaving))
            }
            connections[tuple] = connection
        }
        return operations
    }

    /// The interfaces in policy conntrack changed: directions arriving on
    /// one no longer in the set leave the fast path; proven ones arriving
    /// on a new one enter it.
    public mutating func setInterfaces(_ new: Set<UInt32>) -> [Operation] {
        interfaces = new
        var operations: [Operation] = []
        for (tuple, var connection) in connections {
            for index in connection.directions.indices {
                guard let key = connection.directions[index].admitted, !new.contains(key.ingress) else { continue }
                operations.append(.withdraw(key))
                connection.directions[index].admitted = nil
            }
            connections[tuple] = connection
            operations += admitProven(tuple)
        }
        return operations
    }

    /// Admits every direction of the connection that is proven, eligible
    /// and arrives on an interface in policy conntrack.
    private mutating func admitProven(_ tuple: ConntrackTuple) -> [Operation] {
        guard var connection = connections[tuple], FlowMirror.isEligible(connection.entry) else { return [] }
        var operations: [Operation] = []
        for index in connection.directions.indices {
            let direction = connection.directions[index]
            guard direction.admitted == nil, let proof = direction.proof else { continue }
            guard interfaces.contains(proof.ingress) else {
                // Not a way into the fast path (any more): wait for a new proof.
                connection.directions[index].proof = nil
                watched[direction.flow.egress] = tuple
                operations.append(.rewatch(direction.flow.egress))
                continue
            }
            if proof.mark != 0 && !marksSupported {
                if watched.removeValue(forKey: direction.flow.egress) != nil {
                    keptForMark += 1
                    operations.append(.unwatch(direction.flow.egress))
                }
                continue
            }
            var key = direction.flow.key
            key.ingress = proof.ingress
            let snatEgress = direction.flow.rewrite.source == nil ? 0 : proof.egress
            operations.append(.admit(key, direction.flow.rewrite, snatEgress: snatEgress, mark: proof.mark))
            if watched.removeValue(forKey: direction.flow.egress) != nil { operations.append(.unwatch(direction.flow.egress)) }
            connection.directions[index].admitted = key
            if tuple.proto == ConntrackTuple.tcp && !connection.isLiberal {
                connection.isLiberal = true
                operations.append(.beLiberal(tuple, zone: connection.entry.zone))
            }
        }
        connections[tuple] = connection
        return operations
    }
}
