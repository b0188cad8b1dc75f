/// One direction of a flow as the fast path matches it: the packet's
/// tuple as it arrives (TCP or UDP), and the interface it arrives on.
public struct FlowKey: Hashable {
    public var tuple: ConntrackTuple
    /// The L3 interface the packets arrive on.
    public var ingress: UInt32

    public init(_ tuple: ConntrackTuple, ingress: UInt32) {
        self.tuple = tuple
        self.ingress = ingress
    }
}

/// The NAT rewrite of one direction: what the source and destination become.
public struct FlowRewrite: Equatable, Sendable {
    public struct Endpoint: Equatable, Sendable {
        public var address: [UInt8]
        public var port: UInt16

        public init(address: [UInt8], port: UInt16) {
            self.address = address
            self.port = port
        }
    }

    public var source: Endpoint?
    public var destination: Endpoint?

    public init(source: Endpoint? = nil, destination: Endpoint? = nil) {
        self.source = source
        self.destination = destination
    }

    public static let none = FlowRewrite()
}

/// One direction of a conntrack entry: its `fp_flows` key and NAT, and how
/// its packets leave the router (`egress`: the translated tuple), which is
/// how the TC egress program recognises them. Both carry interface 0 until
/// the kernel has shown where the direction comes in.
public struct FlowDirection: Equatable {
    public var key: FlowKey
    public var rewrite: FlowRewrite
    public var egress: FlowKey

    public init(key: FlowKey, rewrite: FlowRewrite, egress: FlowKey) {
        self.key = key
        self.rewrite = rewrite
        self.egress = egress
    }
}

/// What the programs recorded about a flow direction.
public struct FlowActivity: Equatable {
    /// CLOCK_MONOTONIC nanoseconds of the last fast-path packet (0: none yet).
    public var lastSeenNanoseconds: UInt64
    public var packets: UInt64
    public var bytes: UInt64

    public init(lastSeenNanoseconds: UInt64, packets: UInt64, bytes: UInt64) {
        self.lastSeenNanoseconds = lastSeenNanoseconds
        self.packets = packets
        self.bytes = bytes
    }
}
