/// `enum bpf_map_type` as a value (the C enum imports as a struct).
public struct BPFMapType: RawRepresentable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let hash = BPFMapType(rawValue: 1)
    public static let array = BPFMapType(rawValue: 2)
    public static let percpuHash = BPFMapType(rawValue: 5)
    public static let percpuArray = BPFMapType(rawValue: 6)
    public static let lruHash = BPFMapType(rawValue: 9)
    public static let lruPercpuHash = BPFMapType(rawValue: 10)
    public static let devmap = BPFMapType(rawValue: 14)
    public static let devmapHash = BPFMapType(rawValue: 25)

    /// Per-CPU maps hold one value per possible CPU (`PerCPUBPFMap`).
    public var isPerCPU: Bool {
        self == .percpuHash || self == .percpuArray || self == .lruPercpuHash
            || rawValue == 21 /* PERCPU_CGROUP_STORAGE */
    }

    public var description: String {
        switch self {
        case .hash: return "hash"
        case .array: return "array"
        case .percpuHash: return "percpu_hash"
        case .percpuArray: return "percpu_array"
        case .lruHash: return "lru_hash"
        case .lruPercpuHash: return "lru_percpu_hash"
        case .devmap: return "devmap"
        case .devmapHash: return "devmap_hash"
        default: return "map type \(rawValue)"
        }
    }
}
