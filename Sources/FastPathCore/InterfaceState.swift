/// The mode in effect on an interface. Raw values are the words `status` prints.
public enum EffectiveMode: String, CaseIterable, Equatable {
    case xdpNative = "xdp-native"
    case xdpGeneric = "xdp-generic"
    case tc
    case none
}

/// How an XDP program is attached (`XDP_FLAGS_DRV_MODE` / `XDP_FLAGS_SKB_MODE`).
/// One device holds at most one of the two.
public enum XDPMode: String, CaseIterable, Equatable {
    case native, generic
}

/// Bits of `InterfaceEntry.flags`. They mirror `FP_IFACE_*` in
/// bpf/fastpath.h; a layout test checks the numbers match.
public enum InterfaceFlags {
    /// FP_IFACE_POLICY_ROUTING: forward every routable packet.
    public static let policyRouting: UInt32 = 1 << 0
    /// FP_IFACE_POLICY_CONNTRACK: forward only mirrored conntrack flows.
    public static let policyConntrack: UInt32 = 1 << 1
    /// FP_IFACE_WAN.
    public static let wan: UInt32 = 1 << 2
    /// FP_IFACE_RP_STRICT: policy routing checks the source routes back out of the ingress.
    public static let reversePathStrict: UInt32 = 1 << 3
    /// FP_IFACE_RP_LOOSE: policy routing checks the source is routable.
    public static let reversePathLoose: UInt32 = 1 << 4

    /// The flags for one configured interface on `link`. Policy routing
    /// repeats the kernel's source validation: strict with `rp_filter` 1,
    /// loose otherwise. The kernel checks loosely with `rp_filter` 0 too
    /// once there are custom `ip rule`s or local routes (mwan3 and pbr add
    /// them), which the data path cannot see, so it always does. Policy
    /// conntrack needs no check of its own: only directions the kernel
    /// forwarded are carried.
    public static func of(_ interface: FastPathConfig.Interface, link: ViewLink?) -> UInt32 {
        guard interface.policy == .routing else { return policyConntrack | (interface.wan ? wan : 0) }
        let flags = policyRouting | (interface.wan ? wan : 0)
        return flags | (link?.reversePathFilter == 1 ? reversePathStrict : reversePathLoose)
    }
}

/// One `fp_ifaces` value (`struct fp_iface`), keyed by ingress ifindex.
public struct InterfaceEntry: Equatable {
    public var mac: [UInt8]
    /// Index into `fp_stats`, 1...`ReconcilePlanner.maxSlot`.
    public var slot: UInt32
    /// `InterfaceFlags` bits.
    public var flags: UInt32

    public init(mac: [UInt8], slot: UInt32, flags: UInt32) {
        self.mac = mac
        self.slot = slot
        self.flags = flags
    }
}

/// What fastpath has in effect on one interface right now: found at start
/// (adoption) or kept by the applier. Only OUR programs and entries count.
public struct AttachedState: Equatable {
    public var ifindex: UInt32
    /// Our XDP program and its mode; nil when none is attached.
    public var xdp: XDPMode?
    /// Our clsact filters are attached, ingress and egress.
    public var tc: Bool
    /// Only one of them is (an attach that failed half way, or a daemon of
    /// an older version): attached again when wanted, removed when not.
    public var tcPartial: Bool
    /// Our `fp_ifaces` entry for this ifindex; nil when there is none.
    public var entry: InterfaceEntry?

    public init(ifindex: UInt32, xdp: XDPMode? = nil, tc: Bool = false, tcPartial: Bool = false,
                entry: InterfaceEntry? = nil) {
        self.ifindex = ifindex
        self.xdp = xdp
        self.tc = tc
        self.tcPartial = tcPartial
        self.entry = entry
    }

    /// The stats slot in use, if there is an entry.
    public var slot: UInt32? { entry?.slot }

    /// The mode these attachments amount to (XDP wins over TC).
    public var mode: EffectiveMode {
        switch xdp {
        case .native: return .xdpNative
        case .generic: return .xdpGeneric
        case nil: return tc ? .tc : .none
        }
    }

    /// Nothing of ours on this interface.
    public var isEmpty: Bool { xdp == nil && !tc && !tcPartial && entry == nil }
}
