import CFastPathShim
import FastPathCore

// FastPathCore's types for what bpf/fastpath.h and the kernel's netdev UAPI
// express in bits and sizes, mapped to those numbers here and nowhere else.

extension InterfaceFlags {
    /// Each flag and its `FP_IFACE_*` bit.
    private static var headerBits: [(InterfaceFlags, UInt16)] {
        [(.policyRouting, UInt16(FP_IFACE_POLICY_ROUTING)), (.policyConntrack, UInt16(FP_IFACE_POLICY_CONNTRACK)),
         (.wan, UInt16(FP_IFACE_WAN)), (.reversePathStrict, UInt16(FP_IFACE_RP_STRICT)),
         (.reversePathLoose, UInt16(FP_IFACE_RP_LOOSE))]
    }

    /// The flags of an `fp_iface.flags` value; bits the header does not
    /// define (the programs ignore them) are dropped.
    init(header value: UInt16) {
        self = members(of: value, InterfaceFlags.headerBits)
    }

    /// The `fp_iface.flags` value.
    var header: UInt16 { bits(of: self, InterfaceFlags.headerBits) }
}

extension XDPFeatureSet {
    /// Each feature and its `NETDEV_XDP_ACT_*` bit.
    private static var netdevBits: [(XDPFeatureSet, UInt64)] {
        [(.basic, FP_NETDEV_XDP_ACT_BASIC), (.redirect, FP_NETDEV_XDP_ACT_REDIRECT),
         (.ndoXmit, FP_NETDEV_XDP_ACT_NDO_XMIT), (.xskZerocopy, FP_NETDEV_XDP_ACT_XSK_ZEROCOPY),
         (.hwOffload, FP_NETDEV_XDP_ACT_HW_OFFLOAD), (.rxSG, FP_NETDEV_XDP_ACT_RX_SG),
         (.ndoXmitSG, FP_NETDEV_XDP_ACT_NDO_XMIT_SG)]
    }

    /// The features of a `NETDEV_A_DEV_XDP_FEATURES` value; bits of
    /// features newer than this list are dropped.
    init(netdev value: UInt64) {
        self = members(of: value, XDPFeatureSet.netdevBits)
    }

    /// The `NETDEV_A_DEV_XDP_FEATURES` value.
    var netdev: UInt64 { bits(of: self, XDPFeatureSet.netdevBits) }
}

extension DataPath {
    /// The highest `fp_stats` slot: the map has `FP_MAX_IFACES`, and slot 0
    /// counts the interfaces without an entry.
    public static var maxSlot: UInt32 { UInt32(FP_MAX_IFACES) - 1 }
}

/// The members whose bits `value` has.
private func members<Set: OptionSet, Bits: FixedWidthInteger>(of value: Bits, _ table: [(Set, Bits)]) -> Set
where Set.Element == Set {
    var result: Set = []
    for (member, bit) in table where value & bit != 0 {
        result.insert(member)
    }
    return result
}

/// The bits of the members `set` has.
private func bits<Set: OptionSet, Bits: FixedWidthInteger>(of set: Set, _ table: [(Set, Bits)]) -> Bits
where Set.Element == Set {
    var value: Bits = 0
    for (member, bit) in table where set.contains(member) {
        value |= bit
    }
    return value
}
