import CFastPathShim
import CLibBPF

/// A BPF map with a typed API: keys and values are plain structs or integers
/// (`BitwiseCopyable`, e.g. `fp_iface`, `UInt32`); their sizes are checked
/// against the kernel's key and value sizes on every call.
///
/// Either borrowed from a `BPFObject` (which it keeps alive) or owning its
/// own fd (`openPinned(path:)`, `open(id:)`).
public final class BPFMap {
    /// The map fd; valid as long as this value lives.
    public let fd: Int32
    /// The kernel's name for it (at most 15 characters).
    public let name: String
    public let id: UInt32
    public let type: BPFMapType
    public let keySize: Int
    public let valueSize: Int
    public let maxEntries: UInt32

    private let object: BPFObject?
    private let owned: FileDescriptor?

    /// How `update` treats an existing (or missing) key.
    public enum UpdateFlags: UInt64 {
        /// Create or replace (BPF_ANY).
        case any = 0
        /// Only create: fails with EEXIST if the key exists (BPF_NOEXIST).
        case noExist = 1
        /// Only replace: fails with ENOENT if the key is missing (BPF_EXIST).
        case exist = 2
    }

    init(objectFD fd: Int32, from object: BPFObject, label: String) throws(FastPathError) {
        let info = try BPFMap.info(fd, label: label)
        (self.id, self.type, self.keySize, self.valueSize, self.maxEntries, self.name) = info
        self.fd = fd
        self.object = object
        self.owned = nil
    }

    private init(owning descriptor: consuming FileDescriptor, label: String) throws(FastPathError) {
        let fd = descriptor.rawValue
        let info = try BPFMap.info(fd, label: label)
        (self.id, self.type, self.keySize, self.valueSize, self.maxEntries, self.name) = info
        self.fd = fd
        self.object = nil
        self.owned = consume descriptor
    }

    /// Opens a map pinned on bpffs (`bpf_obj_get`), e.g. `/sys/fs/bpf/fastpath/fp_stats`.
    public static func openPinned(path: String) throws(FastPathError) -> BPFMap {
        let fd = path.withCString { bpf_obj_get($0) }
        if fd < 0 {
            let value = -fd
            throw FastPathError("open pinned map", code: .errno(value), subject: path,
                                hint: value == ENOENT ? "is the daemon running, and bpffs mounted at /sys/fs/bpf?" : nil)
        }
        return try BPFMap(owning: FileDescriptor(adopting: fd), label: path)
    }

    /// Opens the map with kernel id `id`.
    public static func open(id: UInt32) throws(FastPathError) -> BPFMap {
        let fd = bpf_map_get_fd_by_id(id)
        try check(fd, "open BPF map by id", subject: "map id \(id)")
        return try BPFMap(owning: FileDescriptor(adopting: fd), label: "map id \(id)")
    }

    // MARK: typed access

    /// Sets `key` to `value`.
    public func update<K: BitwiseCopyable, V: BitwiseCopyable>(
        key: K, value: V, flags: UpdateFlags = .any
    ) throws(FastPathError) {
        try checkSizes(K.self, V.self, perCPU: false)
        var key = key
        var value = value
        let rc = bpf_map_update_elem(fd, &key, &value, flags.rawValue)
        try check(rc, "update map element", subject: name)
    }

    /// The value at `key`, or nil if there is none.
    public func lookup<K: BitwiseCopyable, V: BitwiseCopyable>(
        key: K, as: V.Type
    ) throws(FastPathError) -> V? {
        try checkSizes(K.self, V.self, perCPU: false)
        var key = key
        var bytes = [UInt8](repeating: 0, count: valueSize)
        let rc = bytes.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, &key, $0.baseAddress) }
        if rc == -ENOENT { return nil }
        try check(rc, "look up map element", subject: name)
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: V.self) }
    }

    /// Removes `key`; returns false if it was not there.
    @discardableResult
    public func delete<K: BitwiseCopyable>(key: K) throws(FastPathError) -> Bool {
        try checkKeySize(K.self)
        var key = key
        let rc = bpf_map_delete_elem(fd, &key)
        if rc == -ENOENT { return false }
        try check(rc, "delete map element", subject: name)
        return true
    }

    /// The per-CPU values at `key` of a per-CPU map, one per possible CPU
    /// (`libbpf_num_possible_cpus`), or [] if the key is missing.
    public func lookupPerCPU<K: BitwiseCopyable, V: BitwiseCopyable>(
        key: K, as: V.Type
    ) throws(FastPathError) -> [V] {
        try checkSizes(K.self, V.self, perCPU: true)
        let cpus = try BPFMap.possibleCPUs()
        let stride = BPFMap.perCPUStride(valueSize)
        var key = key
        var bytes = [UInt8](repeating: 0, count: stride * cpus)
        let rc = bytes.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, &key, $0.baseAddress) }
        if rc == -ENOENT { return [] }
        try check(rc, "look up per-CPU map element", subject: name)
        var values: [V] = []
        values.reserveCapacity(cpus)
        bytes.withUnsafeBytes { raw in
            for cpu in 0..<cpus {
                values.append(raw.loadUnaligned(fromByteOffset: cpu * stride, as: V.self))
            }
        }
        return values
    }

    /// All keys, in the kernel's iteration order (`bpf_map_get_next_key`).
    /// For arrays this is every index below `maxEntries`.
    public func keys<K: BitwiseCopyable>(as: K.Type) throws(FastPathError) -> [K] {
        try checkKeySize(K.self)
        var result: [K] = []
        var current = [UInt8](repeating: 0, count: keySize)
        var next = [UInt8](repeating: 0, count: keySize)
        var first = true
        while true {
            let rc = current.withUnsafeBytes { cur in
                next.withUnsafeMutableBytes { nxt in
                    bpf_map_get_next_key(fd, first ? nil : cur.baseAddress, nxt.baseAddress)
                }
            }
            if rc == -ENOENT { break }
            try check(rc, "iterate map keys", subject: name)
            result.append(next.withUnsafeBytes { $0.loadUnaligned(as: K.self) })
            swap(&current, &next)
            first = false
        }
        return result
    }

    // MARK: helpers

    /// Every value of an array map, in index order, read in one batch
    /// (`BPF_MAP_LOOKUP_BATCH`) rather than a syscall per index.
    public func arrayValues<V: BitwiseCopyable>(as: V.Type) throws(FastPathError) -> [V] {
        try checkSizes(UInt32.self, V.self, perCPU: false)
        var keys = [UInt32](repeating: 0, count: Int(maxEntries))
        var values = [V]()
        values.reserveCapacity(Int(maxEntries))
        var raw = [UInt8](repeating: 0, count: valueSize * Int(maxEntries))
        var count = maxEntries
        var next: UInt32 = 0
        let rc = raw.withUnsafeMutableBytes { bytes in
            bpf_map_lookup_batch(fd, nil, &next, &keys, bytes.baseAddress, &count, nil)
        }
        // ENOENT: the batch reached the end, which it does at once here.
        if rc != -ENOENT { try check(rc, "read array map", subject: name) }
        raw.withUnsafeBytes { bytes in
            for index in 0..<Int(count) { values.append(bytes.loadUnaligned(fromByteOffset: index * valueSize, as: V.self)) }
        }
        return values
    }

    /// Possible CPUs as libbpf counts them (the per-CPU value array length).
    public static func possibleCPUs() throws(FastPathError) -> Int {
        let cpus = fp_num_possible_cpus()
        try check(cpus, "count possible CPUs", subject: "/sys/devices/system/cpu/possible")
        return Int(cpus)
    }

    static func perCPUStride(_ valueSize: Int) -> Int {
        (valueSize + 7) & ~7
    }

    private func checkKeySize<K>(_: K.Type) throws(FastPathError) {
        if MemoryLayout<K>.size != keySize {
            throw FastPathError(
                "key type is \(MemoryLayout<K>.size) bytes, the map's keys are \(keySize)", subject: name,
                hint: "the BPF object and this binary disagree on bpf/fastpath.h: rebuild both")
        }
    }

    private func checkSizes<K, V>(_: K.Type, _: V.Type, perCPU: Bool) throws(FastPathError) {
        try checkKeySize(K.self)
        if MemoryLayout<V>.size != valueSize {
            throw FastPathError(
                "value type is \(MemoryLayout<V>.size) bytes, the map's values are \(valueSize)", subject: name,
                hint: "the BPF object and this binary disagree on bpf/fastpath.h: rebuild both")
        }
        if perCPU != type.isPerCPU {
            throw FastPathError(
                perCPU ? "per-CPU access to a \(type.description) map" : "plain access to a per-CPU map (use lookupPerCPU)",
                subject: name)
        }
    }

    private static func info(_ fd: Int32, label: String) throws(FastPathError)
        -> (UInt32, BPFMapType, Int, Int, UInt32, String)
    {
        var id: UInt32 = 0, type: UInt32 = 0, key: UInt32 = 0, value: UInt32 = 0, max: UInt32 = 0
        var rc: Int32 = 0
        let name = withCharBuffer(count: 16) { rc = fp_map_info(fd, &id, &type, &key, &value, &max, $0) }
        try check(rc, "read BPF map info", subject: label)
        return (id, BPFMapType(rawValue: type), Int(key), Int(value), max, name)
    }
}
