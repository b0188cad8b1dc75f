/// The data path's global switches (`fp_config`), as the config asks for them.
public struct DataPathSettings: Equatable {
    public var ipv4: Bool
    public var ipv6: Bool
    /// Policy conntrack's fail-safe: without a manager heartbeat for this
    /// long, the programs pass everything to the kernel.
    public var valveMilliseconds: UInt64

    public init(ipv4: Bool, ipv6: Bool, valveMilliseconds: UInt64) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.valveMilliseconds = valveMilliseconds
    }

    public init(_ globals: FastPathConfig.Globals) {
        self.init(ipv4: globals.ipv4, ipv6: globals.ipv6, valveMilliseconds: UInt64(globals.valveTimeout) * 1000)
    }
}

extension FastPathConfig.Globals {
    /// The options of `self` that differ from `other` and are fixed when the
    /// data path is loaded (map sizes, the capabilities it was loaded with):
    /// changing them takes a fresh start, not a reconcile.
    public func loadTimeOptions(differingFrom other: FastPathConfig.Globals) -> [String] {
        var changed: [String] = []
        if maxFlows != other.maxFlows { changed.append("max_flows") }
        if disabledCapabilities != other.disabledCapabilities { changed.append("disable_capability") }
        return changed
    }
}
