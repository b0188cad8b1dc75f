/// What the running kernel let the data path use: its release and every
/// optional capability that is off, with why. Shown by `status` and logged
/// once at start.
public struct CapabilityReport: Equatable, Sendable {
    /// One capability that is off.
    public struct Degraded: Equatable, Sendable {
        public var capability: KernelCapability
        /// "kernel refuses bpf_xdp_adjust_meta in xdp programs", or that the config turned it off.
        public var why: String

        public init(_ capability: KernelCapability, why: String) {
            self.capability = capability
            self.why = why
        }

        /// "xdp-tc handoff: off (kernel refuses …); TC repeats the route lookup"
        public var summary: String {
            "\(capability.title): off (\(why)); \(capability.effectWhenOff)"
        }
    }

    /// `uname -r`.
    public var kernelRelease: String
    /// In `KernelCapability.allCases` order.
    public var degraded: [Degraded]

    public init(kernelRelease: String, degraded: [Degraded] = []) {
        self.kernelRelease = kernelRelease
        self.degraded = degraded
    }

    public func isOff(_ capability: KernelCapability) -> Bool {
        degraded.contains { $0.capability == capability }
    }

    /// Why a capability the config turned off is off.
    public static let turnedOffByConfig = "turned off by option disable_capability"
}
