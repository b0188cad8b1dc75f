/// A conntrack entry reduced to what the flow mirror needs.
public struct TrackedConnection: Equatable {
    /// One direction's tuple as conntrack reports it.
    public struct Tuple: Hashable {
        public var source: [UInt8]
        public var destination: [UInt8]
        public var sourcePort: UInt16
        public var destinationPort: UInt16

        public init(source: [UInt8], destination: [UInt8], sourcePort: UInt16, destinationPort: UInt16) {
            self.source = source
            self.destination = destination
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
        }
    }

    /// 4 or 6
    public var family: UInt8
    /// 6 (TCP), 17 (UDP), or anything else (never mirrored)
    public var proto: UInt8
    public var original: Tuple
    public var reply: Tuple
    /// IPS_ASSURED: conntrack saw traffic both ways (and, for UDP, for a while).
    public var isAssured: Bool
    /// TCP only: the state is ESTABLISHED (not closing, not opening).
    public var isTCPEstablished: Bool
    /// IPS_DYING: being destroyed.
    public var isDying: Bool
    public var zone: UInt16

    public init(family: UInt8, proto: UInt8, original: Tuple, reply: Tuple, isAssured: Bool,
                isTCPEstablished: Bool, isDying: Bool, zone: UInt16 = 0) {
        self.family = family
        self.proto = proto
        self.original = original
        self.reply = reply
        self.isAssured = isAssured
        self.isTCPEstablished = isTCPEstablished
        self.isDying = isDying
        self.zone = zone
    }
}

/// Which conntrack entries may enter the fast path, and the two flow-table
/// entries (one per direction, each with its NAT) that mirror one.
public enum FlowMirror {
    /// TCP once ESTABLISHED and ASSURED; UDP once ASSURED; nothing else.
    public static func isEligible(_ connection: TrackedConnection) -> Bool {
        guard !connection.isDying, connection.isAssured else { return false }
        switch connection.proto {
        case 6: return connection.isTCPEstablished
        case 17: return true
        default: return false
        }
    }

    /// Both directions. Packets of the original direction arrive as
    /// `original` on `originalIngress` and must leave as the reverse of
    /// `reply`, on `replyIngress` (the way back to the reply's source);
    /// packets of the reply direction arrive as `reply` on `replyIngress`
    /// and leave as the reverse of `original`, on `originalIngress`.
    public static func entries(of connection: TrackedConnection, originalIngress: UInt32,
                               replyIngress: UInt32) -> [FlowDirection] {
        [
            direction(arriving: connection.original, leavingAsReverseOf: connection.reply,
                      connection: connection, ingress: originalIngress, egress: replyIngress),
            direction(arriving: connection.reply, leavingAsReverseOf: connection.original,
                      connection: connection, ingress: replyIngress, egress: originalIngress),
        ]
    }

    /// How packets of a direction leave the router: on `egress`, with
    /// `rewrite` applied.
    static func egressView(of key: FlowKey, rewrite: FlowRewrite, egress: UInt32) -> FlowKey {
        var view = key
        if let source = rewrite.source {
            view.source = source.address
            view.sourcePort = source.port
        }
        if let destination = rewrite.destination {
            view.destination = destination.address
            view.destinationPort = destination.port
        }
        view.ingress = egress
        return view
    }

    private static func direction(arriving: TrackedConnection.Tuple, leavingAsReverseOf other: TrackedConnection.Tuple,
                                  connection: TrackedConnection, ingress: UInt32, egress: UInt32) -> FlowDirection {
        let key = FlowKey(family: connection.family, proto: connection.proto, source: arriving.source,
                          destination: arriving.destination, sourcePort: arriving.sourcePort,
                          destinationPort: arriving.destinationPort, ingress: ingress)
        var rewrite = FlowRewrite()
        if other.destination != arriving.source || other.destinationPort != arriving.sourcePort {
            rewrite.source = .init(address: other.destination, port: other.destinationPort)
        }
        if other.source != arriving.destination || other.sourcePort != arriving.destinationPort {
            rewrite.destination = .init(address: other.source, port: other.sourcePort)
        }
        return FlowDirection(key: key, rewrite: rewrite, egress: egressView(of: key, rewrite: rewrite, egress: egress))
    }
}
