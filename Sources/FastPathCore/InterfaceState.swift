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

/// What the data path does with one interface's packets (`InterfaceEntry.flags`).
/// Raw values are this type's own: FastPathKernel maps each flag to its
/// `FP_IFACE_*` bit in bpf/fastpath.h.
public struct InterfaceFlags: OptionSet, Equatable, Sendable {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Forward every routable packet.
    public static let policyRouting = InterfaceFlags(rawValue: 1 << 0)
    /// Forward only mirrored conntrack flows.
    public static let policyConntrack = InterfaceFlags(rawValue: 1 << 1)
    public static let wan = InterfaceFlags(rawValue: 1 << 2)
    /// Policy routing checks the source routes back out of the ingress.
    public static let reversePathStrict = InterfaceFlags(rawValue: 1 << 3)
    /// Policy routing checks the source is routable.
    public static let reversePathLoose = InterfaceFlags(rawValue: 1 << 4)

    /// The flags for one configured interface on `link`. Policy routing
    /// repeats the kernel's source validation: strict with `rp_filter` 1,
    /// loose otherwise. The kernel checks loosely with `rp_filter` 0 too
    /// once there are custom `ip rule`s or local routes (mwan3 and pbr add
    /// them), which the data path cannot see, so it always does. Policy
    /// conntrack needs no check of its own: only directions the kernel
    /// forwarded are carried.
    public static func of(_ interface: FastPathConfig.Interface, link: ViewLink?) -> InterfaceFlags {
        var flags: InterfaceFlags = interface.wan ? .wan : []
        guard interface.policy == .routing else { return flags.union(.policyConntrack) }
        flags.insert(.policyRouting)
        return flags.union(link?.reversePathFilter == 1 ? .reversePathStrict : .reversePathLoose)
    }
}

/// One `fp_ifaces` value (`struct fp_iface`), keyed by ingress ifindex.
public struct InterfaceEntry: Equatable {
    public var mac: [UInt8]
    /// Index into `fp_stats`, 1...the planner's `maxSlot`.
    public var slot: UInt32
    public var flags: InterfaceFlags

    public init(mac: [UInt8], slot: UInt32, flags: InterfaceFlags) {
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
