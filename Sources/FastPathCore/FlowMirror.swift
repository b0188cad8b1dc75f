/// Which conntrack entries may enter the fast path, and the two flow-table
/// entries (one per direction, each with its NAT) that mirror one.
public enum FlowMirror {
    /// TCP once ESTABLISHED and ASSURED; UDP once ASSURED; nothing else.
    public static func isEligible(_ entry: ConntrackEntry) -> Bool {
        guard !entry.isDying, entry.isAssured else { return false }
        switch entry.original.proto {
        case ConntrackTuple.tcp: return entry.isTCPEstablished
        case ConntrackTuple.udp: return true
        default: return false
        }
    }

    /// Both directions, before anything is known of their interfaces
    /// (`ingress` 0 in `key` and `egress`). Packets of the original
    /// direction arrive as `original` and leave as the reverse of `reply`;
    /// packets of the reply direction arrive as `reply` and leave as the
    /// reverse of `original`.
    public static func directions(of entry: ConntrackEntry) -> [FlowDirection] {
        [direction(arriving: entry.original, leavingAsReverseOf: entry.reply),
         direction(arriving: entry.reply, leavingAsReverseOf: entry.original)]
    }

    private static func direction(arriving: ConntrackTuple, leavingAsReverseOf other: ConntrackTuple) -> FlowDirection {
        let key = FlowKey(arriving, ingress: 0)
        var rewrite = FlowRewrite()
        var leaving = key
        if other.destination != arriving.source || other.destinationPort != arriving.sourcePort {
            rewrite.source = .init(address: other.destination, port: other.destinationPort)
            leaving.tuple.source = other.destination
            leaving.tuple.sourcePort = other.destinationPort
        }
        if other.source != arriving.destination || other.sourcePort != arriving.destinationPort {
            rewrite.destination = .init(address: other.source, port: other.sourcePort)
            leaving.tuple.destination = other.source
            leaving.tuple.destinationPort = other.sourcePort
        }
        return FlowDirection(key: key, rewrite: rewrite, egress: leaving)
    }
}
