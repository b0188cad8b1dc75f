import CFastPathShim
import CLibBPF

/// What the kernel says about a BPF map.
public struct BPFMapInfo: Equatable {
    /// The kernel's name for it (at most 15 characters).
    public let name: String
    public let id: UInt32
    public let type: BPFMapType
    public let keySize: Int
    public let valueSize: Int
    public let maxEntries: UInt32

    /// The map with kernel id `id`.
    public init(id: UInt32) throws(FastPathError) {
        let fd = bpf_map_get_fd_by_id(id)
        try check(fd, "open BPF map by id", subject: "map id \(id)")
        self = try BPFMapInfo(of: FileDescriptor(adopting: fd), label: "map id \(id)")
    }

    init(of descriptor: borrowing FileDescriptor, label: String) throws(FastPathError) {
        var id: UInt32 = 0, type: UInt32 = 0, key: UInt32 = 0, value: UInt32 = 0, max: UInt32 = 0
        var rc: Int32 = 0
        let fd = descriptor.rawValue
        name = withCharBuffer(count: 16) { rc = fp_map_info(fd, &id, &type, &key, &value, &max, $0) }
        try check(rc, "read BPF map info", subject: label)
        self.id = id
        self.type = BPFMapType(rawValue: type)
        keySize = Int(key)
        valueSize = Int(value)
        maxEntries = max
    }

    /// Throws unless keys and values of these sizes, read plainly or per
    /// CPU, are what the map holds.
    func checkAccess(keySize: Int, valueSize: Int, perCPU: Bool) throws(FastPathError) {
        let hint = "the BPF object and this binary disagree on bpf/fastpath.h: rebuild both"
        if keySize != self.keySize {
            throw FastPathError("key type is \(keySize) bytes, the map's keys are \(self.keySize)", subject: name, hint: hint)
        }
        if valueSize != self.valueSize {
            throw FastPathError("value type is \(valueSize) bytes, the map's values are \(self.valueSize)",
                                subject: name, hint: hint)
        }
        if perCPU != type.isPerCPU {
            throw FastPathError(perCPU ? "per-CPU access to a \(type.description) map" : "plain access to a per-CPU map",
                                subject: name)
        }
    }
}

extension FileDescriptor {
    /// Opens the map pinned at `path` on bpffs (`bpf_obj_get`).
    static func pinnedMap(at path: String) throws(FastPathError) -> FileDescriptor {
        let fd = path.withCString { bpf_obj_get($0) }
        if fd < 0 {
            let value = -fd
            throw FastPathError("open pinned map", code: .errno(value), subject: path,
                                hint: value == ENOENT ? "is the daemon running, and bpffs mounted at /sys/fs/bpf?" : nil)
        }
        return FileDescriptor(adopting: fd)
    }
}

/// A BPF map of `Key` to `Value`: plain structs or integers
/// (`BitwiseCopyable`, e.g. `fp_iface`, `UInt32`) whose sizes were checked
/// against the kernel's key and value sizes when it was opened.
public final class BPFMap<Key: BitwiseCopyable, Value: BitwiseCopyable> {
    let descriptor: FileDescriptor
    public let info: BPFMapInfo

    /// How `update` treats an existing (or missing) key.
    public enum UpdateFlags: UInt64 {
        /// Create or replace (BPF_ANY).
        case any = 0
        /// Only create: fails with EEXIST if the key exists (BPF_NOEXIST).
        case noExist = 1
        /// Only replace: fails with ENOENT if the key is missing (BPF_EXIST).
        case exist = 2
    }

    init(_ descriptor: consuming FileDescriptor, label: String) throws(FastPathError) {
        let info = try BPFMapInfo(of: descriptor, label: label)
        try info.checkAccess(keySize: MemoryLayout<Key>.size, valueSize: MemoryLayout<Value>.size, perCPU: false)
        self.info = info
        self.descriptor = descriptor
    }

    /// Sets `key` to `value`.
    public func update(key: Key, value: Value, flags: UpdateFlags = .any) throws(FastPathError) {
        var key = key
        var value = value
        let rc = bpf_map_update_elem(descriptor.rawValue, &key, &value, flags.rawValue)
        try check(rc, "update map element", subject: info.name)
    }

    /// The value at `key`, or nil if there is none.
    public func lookup(key: Key) throws(FastPathError) -> Value? {
        var key = key
        var bytes = [UInt8](repeating: 0, count: info.valueSize)
        let fd = descriptor.rawValue
        let rc = bytes.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, &key, $0.baseAddress) }
        if rc == -ENOENT { return nil }
        try check(rc, "look up map element", subject: info.name)
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: Value.self) }
    }

    /// Removes `key`; returns false if it was not there.
    @discardableResult
    public func delete(key: Key) throws(FastPathError) -> Bool {
        var key = key
        let rc = bpf_map_delete_elem(descriptor.rawValue, &key)
        if rc == -ENOENT { return false }
        try check(rc, "delete map element", subject: info.name)
        return true
    }

    /// All keys, in the kernel's iteration order (`bpf_map_get_next_key`).
    /// For arrays this is every index below `maxEntries`.
    public func keys() throws(FastPathError) -> [Key] {
        var result: [Key] = []
        var current = [UInt8](repeating: 0, count: info.keySize)
        var next = [UInt8](repeating: 0, count: info.keySize)
        var first = true
        let fd = descriptor.rawValue
        while true {
            let rc = current.withUnsafeBytes { cur in
                next.withUnsafeMutableBytes { nxt in
                    bpf_map_get_next_key(fd, first ? nil : cur.baseAddress, nxt.baseAddress)
                }
            }
            if rc == -ENOENT { break }
            try check(rc, "iterate map keys", subject: info.name)
            result.append(next.withUnsafeBytes { $0.loadUnaligned(as: Key.self) })
            swap(&current, &next)
            first = false
        }
        return result
    }
}

extension BPFMap where Key == UInt32 {
    /// Every value of an array map, in index order, read in one batch
    /// (`BPF_MAP_LOOKUP_BATCH`) rather than a syscall per index.
    public func arrayValues() throws(FastPathError) -> [Value] {
        let maxEntries = info.maxEntries
        let valueSize = info.valueSize
        var keys = [UInt32](repeating: 0, count: Int(maxEntries))
        var values = [Value]()
        values.reserveCapacity(Int(maxEntries))
        var raw = [UInt8](repeating: 0, count: valueSize * Int(maxEntries))
        var count = maxEntries
        var next: UInt32 = 0
        let fd = descriptor.rawValue
        let rc = raw.withUnsafeMutableBytes { bytes in
            bpf_map_lookup_batch(fd, nil, &next, &keys, bytes.baseAddress, &count, nil)
        }
        // ENOENT: the batch reached the end, which it does at once here.
        if rc != -ENOENT { try check(rc, "read array map", subject: info.name) }
        raw.withUnsafeBytes { bytes in
            for index in 0..<Int(count) { values.append(bytes.loadUnaligned(fromByteOffset: index * valueSize, as: Value.self)) }
        }
        return values
    }
}

/// A per-CPU BPF map of `Key` to `Value`: one value per possible CPU,
/// sizes checked when it was opened.
public final class PerCPUBPFMap<Key: BitwiseCopyable, Value: BitwiseCopyable> {
    let descriptor: FileDescriptor
    public let info: BPFMapInfo

    init(_ descriptor: consuming FileDescriptor, label: String) throws(FastPathError) {
        let info = try BPFMapInfo(of: descriptor, label: label)
        try info.checkAccess(keySize: MemoryLayout<Key>.size, valueSize: MemoryLayout<Value>.size, perCPU: true)
        self.info = info
        self.descriptor = descriptor
    }

    /// Opens a map pinned on bpffs, e.g. `/sys/fs/bpf/fastpath/fp_stats`.
    public convenience init(pinnedAt path: String) throws(FastPathError) {
        try self.init(FileDescriptor.pinnedMap(at: path), label: path)
    }

    /// The values at `key`, one per possible CPU (`libbpf_num_possible_cpus`),
    /// or [] if the key is missing.
    public func lookup(key: Key) throws(FastPathError) -> [Value] {
        let cpus = fp_num_possible_cpus()
        try check(cpus, "count possible CPUs", subject: "/sys/devices/system/cpu/possible")
        let stride = (info.valueSize + 7) & ~7
        var key = key
        var bytes = [UInt8](repeating: 0, count: stride * Int(cpus))
        let fd = descriptor.rawValue
        let rc = bytes.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, &key, $0.baseAddress) }
        if rc == -ENOENT { return [] }
        try check(rc, "look up per-CPU map element", subject: info.name)
        var values: [Value] = []
        values.reserveCapacity(Int(cpus))
        bytes.withUnsafeBytes { raw in
            for cpu in 0..<Int(cpus) {
                values.append(raw.loadUnaligned(fromByteOffset: cpu * stride, as: Value.self))
            }
        }
        return values
    }
}
