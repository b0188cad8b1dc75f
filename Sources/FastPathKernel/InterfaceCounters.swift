import CFastPathShim

/// One interface's fast-path counters (`struct fp_stats`), summed over CPUs.
public struct InterfaceCounters: Equatable {
    public var forwardedPackets: UInt64 = 0
    public var forwardedBytes: UInt64 = 0
    public var redirectErrors: UInt64 = 0
    /// Pass counts indexed by reason code (`FP_PASS_*`); see `reasonNames`.
    public var passed = [UInt64](repeating: 0, count: Int(FP_REASON_COUNT))

    public init() {}

    /// Sums the per-CPU values of one `fp_stats` slot.
    public init(summing perCPU: [fp_stats]) {
        for value in perCPU {
            forwardedPackets &+= value.forwarded_packets
            forwardedBytes &+= value.forwarded_bytes
            redirectErrors &+= value.redirect_errors
            withUnsafeBytes(of: value.passed) { raw in
                for index in 0..<passed.count {
                    passed[index] &+= raw.load(fromByteOffset: index * 8, as: UInt64.self)
                }
            }
        }
    }

    /// The status name of every pass reason, in code order (`FP_REASON_NAMES`).
    public static let reasonNames: [String] = (0..<UInt32(FP_REASON_COUNT)).map { code in
        String(cString: fp_reason_name(code))
    }

    /// The count of the reason called `name`, 0 for an unknown name.
    public func passed(_ name: String) -> UInt64 {
        guard let index = InterfaceCounters.reasonNames.firstIndex(of: name) else { return 0 }
        return passed[index]
    }

    /// Every packet the program saw: forwarded plus passed.
    public var totalPackets: UInt64 { passed.reduce(forwardedPackets, &+) }
}
