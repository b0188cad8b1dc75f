/// An optional part of the data path that needs something not every kernel
/// has. Without it the data path still forwards, at a cost `effectWhenOff`
/// names. Raw values are the words of `list disable_capability` and of
/// `status --json`.
public enum KernelCapability: String, CaseIterable, Equatable, Hashable, Sendable {
    /// XDP leaves its route lookup in the frame's metadata for the TC
    /// program when the egress takes no XDP frames (`bpf_xdp_adjust_meta`).
    case xdpTCHandoff = "xdp_tc_handoff"
    /// TC forwards to a next hop whose neighbour is not resolved yet
    /// (`bpf_redirect_neigh`).
    case redirectNeighbour = "redirect_neigh"
    /// The programs read the coarse clock once per tick
    /// (`bpf_jiffies64`, `bpf_ktime_get_coarse_ns`).
    case coarseClock = "coarse_clock"
    /// The kernel says which devices take XDP frames (netdev generic
    /// netlink, Linux 6.3+), so XDP redirects straight into them.
    case xdpFeatures = "xdp_features"
    /// Route lookups carry a flow's mark, for `ip rule fwmark` and
    /// mwan3-style multi-WAN (`BPF_FIB_LOOKUP_MARK`, Linux 6.10+).
    case fibMark = "fib_mark"

    /// The name people read in `status`.
    public var title: String {
        switch self {
        case .xdpTCHandoff: return "xdp-tc handoff"
        case .redirectNeighbour: return "redirect to unresolved neighbours"
        case .coarseClock: return "coarse clock"
        case .xdpFeatures: return "XDP redirect targets"
        case .fibMark: return "marks in route lookups"
        }
    }

    /// What the data path does instead.
    public var effectWhenOff: String {
        switch self {
        case .xdpTCHandoff: return "TC repeats the route lookup"
        case .redirectNeighbour: return "the kernel resolves the neighbour and forwards the first packets"
        case .coarseClock: return "the programs read the precise clock (a few ns more per flow packet)"
        case .xdpFeatures: return "no device is known to take XDP frames: XDP hands every packet to TC"
        case .fibMark: return "flows the kernel routed with a mark stay in the kernel path"
        }
    }
}
