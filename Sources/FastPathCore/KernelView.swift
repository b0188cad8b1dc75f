/// What a driver says it can do with XDP (netlink `NETDEV_A_DEV_XDP_FEATURES`).
/// Raw values are this type's own: FastPathKernel maps each feature to its
/// `NETDEV_XDP_ACT_*` bit.
public struct XDPFeatureSet: OptionSet, Equatable, Sendable {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// XDP_PASS/DROP/ABORTED/TX in the driver: native XDP works.
    public static let basic = XDPFeatureSet(rawValue: 1 << 0)
    /// XDP_REDIRECT out of this device's XDP program.
    public static let redirect = XDPFeatureSet(rawValue: 1 << 1)
    /// `ndo_xdp_xmit`: the device takes redirected XDP frames (a devmap target).
    public static let ndoXmit = XDPFeatureSet(rawValue: 1 << 2)
    public static let xskZerocopy = XDPFeatureSet(rawValue: 1 << 3)
    public static let hwOffload = XDPFeatureSet(rawValue: 1 << 4)
    public static let rxSG = XDPFeatureSet(rawValue: 1 << 5)
    public static let ndoXmitSG = XDPFeatureSet(rawValue: 1 << 6)

    /// The kernel's names (`ip link`/`ynl` style), for `check` and logs.
    public var names: [String] {
        let known: [(XDPFeatureSet, String)] = [
            (.basic, "basic"), (.redirect, "redirect"), (.ndoXmit, "ndo-xmit"),
            (.xskZerocopy, "xsk-zerocopy"), (.hwOffload, "hw-offload"),
            (.rxSG, "rx-sg"), (.ndoXmitSG, "ndo-xmit-sg"),
        ]
        var result: [String] = []
        for (member, name) in known where contains(member) {
            result.append(name)
        }
        return result
    }
}

/// One network device as the planner sees it.
public struct ViewLink: Equatable {
    public var ifindex: UInt32
    public var name: String
    /// The device's own MAC (6 bytes for Ethernet; empty when it has none).
    public var mac: [UInt8]
    /// `IFF_UP`.
    public var isUp: Bool
    /// nil when the kernel could not tell (no netdev genetlink family, old kernel).
    public var xdpFeatures: XDPFeatureSet?
    /// The IPv4 reverse-path filter in force on the device: the larger of
    /// `conf/all/rp_filter` and its own (0 off, 1 strict, 2 loose).
    public var reversePathFilter: UInt8

    public init(ifindex: UInt32, name: String, mac: [UInt8] = [], isUp: Bool = true,
                xdpFeatures: XDPFeatureSet? = nil, reversePathFilter: UInt8 = 0) {
        self.ifindex = ifindex
        self.name = name
        self.mac = mac
        self.isUp = isUp
        self.xdpFeatures = xdpFeatures
        self.reversePathFilter = reversePathFilter
    }
}

/// The kernel's links, as learned from rtnetlink: a pure snapshot, the
/// planner's only view of the kernel.
public struct KernelView: Equatable {
    /// Every known link, by ifindex.
    public private(set) var links: [UInt32: ViewLink]

    public init(links: [ViewLink] = []) {
        self.links = [:]
        for link in links {
            self.links[link.ifindex] = link
        }
    }

    public func link(ifindex: UInt32) -> ViewLink? {
        links[ifindex]
    }

    /// The link with this name; if a rename race left two, the lowest ifindex.
    public func link(named name: String) -> ViewLink? {
        var found: ViewLink?
        for link in links.values where link.name == name {
            if let other = found, other.ifindex < link.ifindex { continue }
            found = link
        }
        return found
    }

    /// Every link, by ascending ifindex.
    public var sortedLinks: [ViewLink] {
        var result = Array(links.values)
        result.sort { $0.ifindex < $1.ifindex }
        return result
    }

    /// RTM_NEWLINK: adds the link or replaces what was known (rename, up/down, new MAC).
    public mutating func apply(_ link: ViewLink) {
        links[link.ifindex] = link
    }

    /// RTM_DELLINK.
    @discardableResult
    public mutating func removeLink(ifindex: UInt32) -> ViewLink? {
        links.removeValue(forKey: ifindex)
    }
}
