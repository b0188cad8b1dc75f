import CFastPathShim
import CLibBPF

/// A loaded BPF ELF object (`bpf_object`): opened and loaded on init,
/// closed exactly once when the last reference goes. Programs and maps
/// taken from it hold descriptors of their own.
public final class BPFObject {
    /// The object file it was loaded from.
    public let path: String
    /// The pin directory its maps were bound to at load, if any.
    public let pinDirectory: String?
    /// Pinned maps that had another shape (a new `max_flows`, a new
    /// fastpath version): replaced by the object's, with what they held
    /// where the layout is the same.
    public let replacedPins: [ReplacedPin]
    private let object: OpaquePointer

    public struct ReplacedPin {
        public var name: String
        /// Entries carried over; nil when the layout changed (nothing could be).
        public var carriedOver: Int?
    }

    /// Opens and loads the object file at `path`.
    ///
    /// With `pinDirectory`, every named (non-internal) map is bound to
    /// `pinDirectory/<map name>` before load: a compatible pinned map there is
    /// reused (its contents survive a daemon restart), a missing one is
    /// created and pinned. A pin of another shape is replaced once the load
    /// succeeded (`replacedPins`); until then it is left as it was. `maxEntries` resizes maps by
    /// name before they are created. `readOnlyData` gives the initial bytes
    /// of read-only data sections by section name (e.g. ".rodata.features"):
    /// constants the verifier sees, set before load.
    ///
    /// A load the verifier refused because a program calls a helper its
    /// type may not use on this kernel throws `.refusedHelper(name)`.
    public init(path: String, pinDirectory: String? = nil, maxEntries: [String: UInt32] = [:],
                readOnlyData: [String: [UInt8]] = [:]) throws(FastPathError) {
        guard let object = path.withCString({ bpf_object__open_file($0, nil) }) else {
            let value = fp_errno()
            throw FastPathError("open BPF object", code: .errno(value), subject: path,
                                hint: value == ENOENT ? "build it with `make bpf` or pass --bpf-dir" : nil)
        }
        for (name, entries) in maxEntries {
            let map = name.withCString { bpf_object__find_map_by_name(object, $0) }
            guard let map, bpf_map__set_max_entries(map, entries) == 0 else {
                bpf_object__close(object)
                throw FastPathError("set the size of map \(name) to \(entries)", subject: path)
            }
        }
        for (section, bytes) in readOnlyData {
            let map = section.withCString { bpf_object__find_map_by_name(object, $0) }
            let rc = bytes.withUnsafeBytes { raw in map.map { bpf_map__set_initial_value($0, raw.baseAddress, raw.count) } }
            guard let rc, rc == 0 else {
                bpf_object__close(object)
                throw FastPathError("set the read-only data \(section) (\(bytes.count) bytes)", subject: path,
                                    hint: "the object was built from another bpf/fastpath.h")
            }
        }
        var mismatched: [MismatchedPin] = []
        if let pinDirectory {
            var map = bpf_object__next_map(object, nil)
            while let current = map {
                if !bpf_map__is_internal(current) {
                    do {
                        if let pin = try BPFObject.bind(current, toPinIn: pinDirectory) { mismatched.append(pin) }
                    } catch {
                        bpf_object__close(object)
                        throw error
                    }
                }
                map = bpf_object__next_map(object, current)
            }
        }
        fp_verifier_capture_begin()
        let rc = bpf_object__load(object)
        fp_verifier_capture_end()
        if rc < 0 {
            bpf_object__close(object)
            let verifier = withCharBuffer(count: 256) { fp_verifier_last_line($0, 256) }
            let helper = withCharBuffer(count: 64) { fp_verifier_refused_helper($0, 64) }
            if !helper.isEmpty {
                throw FastPathError("load BPF object", code: .refusedHelper(helper), subject: path,
                                    hint: verifier.isEmpty ? nil : "verifier: " + verifier)
            }
            var hint: String? = pinDirectory.map {
                "if a map pinned under \($0) is stale or incompatible, remove it; is bpffs mounted (mount -t bpf bpf /sys/fs/bpf)?"
            }
            if !verifier.isEmpty { hint = "verifier: " + verifier + (hint.map { "; " + $0 } ?? "") }
            throw FastPathError.fromReturn(rc, "load BPF object", subject: path, hint: hint)
        }
        var replaced: [ReplacedPin] = []
        for pin in mismatched {
            do {
                replaced.append(try BPFObject.replace(pin, with: pin.map))
            } catch {
                bpf_object__close(object)
                throw error
            }
        }
        self.object = object
        self.path = path
        self.pinDirectory = pinDirectory
        self.replacedPins = replaced
    }

    /// A pinned map whose shape differs from the object's map of that name.
    private final class MismatchedPin {
        let path: String
        let map: OpaquePointer
        /// The pinned map, open.
        let pinned: FileDescriptor
        let sameLayout: Bool

        init(path: String, map: OpaquePointer, pinned: consuming FileDescriptor, sameLayout: Bool) {
            self.path = path
            self.map = map
            self.pinned = pinned
            self.sameLayout = sameLayout
        }
    }

    /// After the load: the object's map takes the pin's place, with the
    /// pinned map's entries when the layout is the same.
    private static func replace(_ pin: MismatchedPin, with map: OpaquePointer) throws(FastPathError) -> ReplacedPin {
        let name = String(cString: bpf_map__name(map))
        var carried: Int? = nil
        if pin.sameLayout {
            let count = fp_map_copy(pin.pinned.rawValue, bpf_map__fd(map), bpf_map__key_size(map), bpf_map__value_size(map))
            if count < 0 { throw FastPathError("carry the entries of the pinned map over", code: .errno(Int32(-count)), subject: pin.path) }
            carried = count
        }
        try check(pin.path.withCString { fp_unlink($0) }, "remove the pin of another shape", subject: pin.path)
        try check(pin.path.withCString { bpf_obj_pin(bpf_map__fd(map), $0) }, "pin map", subject: pin.path)
        return ReplacedPin(name: name, carriedOver: carried)
    }

    deinit {
        bpf_object__close(object)
    }

    /// Binds `map` to `directory/<name>`: an existing pin of the same shape
    /// is reused (its contents survive a restart), a missing one is created
    /// at load. A pin of another shape is returned (open) to be replaced
    /// after the load. The shape check is ours, not libbpf's: libbpf 1.1
    /// compares map flags too, and the kernel adds BPF_F_RDONLY_PROG to
    /// every devmap, so libbpf would refuse to reuse a pinned devmap.
    private static func bind(_ map: OpaquePointer, toPinIn directory: String) throws(FastPathError) -> MismatchedPin? {
        let pinPath = joinPath(directory, String(cString: bpf_map__name(map)))
        guard let pinned = try? FileDescriptor.pinnedMap(at: pinPath) else {
            let rc = pinPath.withCString { bpf_map__set_pin_path(map, $0) }
            try check(rc, "set map pin path", subject: pinPath)
            return nil
        }
        let info = try? BPFMapInfo(of: pinned, label: pinPath)
        let type = info?.type.rawValue ?? 0
        let sameLayout = type == bpf_map__type(map).rawValue && info?.keySize == Int(bpf_map__key_size(map))
            && info?.valueSize == Int(bpf_map__value_size(map))
        guard sameLayout, info?.maxEntries == bpf_map__max_entries(map) else {
            let perCPU = [BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH].map { $0.rawValue }.contains(type)
            let copyable = sameLayout && !perCPU && type != BPF_MAP_TYPE_DEVMAP_HASH.rawValue
            return MismatchedPin(path: pinPath, map: map, pinned: pinned, sameLayout: copyable)
        }
        try check(bpf_map__reuse_fd(map, pinned.rawValue), "reuse pinned map", subject: pinPath)
        try check(pinPath.withCString { bpf_map__set_pin_path(map, $0) }, "set map pin path", subject: pinPath)
        return nil
    }

    /// The program whose C function is named `name` (e.g. `FP_PROG_XDP`).
    public func program(named name: String) throws(FastPathError) -> BPFProgram {
        guard let program = name.withCString({ bpf_object__find_program_by_name(object, $0) }) else {
            throw FastPathError("no BPF program named \(name)", code: .errno(ENOENT), subject: path)
        }
        return try BPFProgram(FileDescriptor.duplicate(bpf_program__fd(program), subject: name), label: name)
    }

    /// The map named `name` (e.g. `FP_MAP_FLOWS`); throws unless its keys
    /// and values are `Key` and `Value` in size.
    public func map<Key, Value>(named name: String) throws(FastPathError) -> BPFMap<Key, Value> {
        try BPFMap(mapDescriptor(name), label: name)
    }

    /// The per-CPU map named `name` (e.g. `FP_MAP_STATS`).
    public func perCPUMap<Key, Value>(named name: String) throws(FastPathError) -> PerCPUBPFMap<Key, Value> {
        try PerCPUBPFMap(mapDescriptor(name), label: name)
    }

    private func mapDescriptor(_ name: String) throws(FastPathError) -> FileDescriptor {
        guard let map = name.withCString({ bpf_object__find_map_by_name(object, $0) }) else {
            throw FastPathError("no BPF map named \(name)", code: .errno(ENOENT), subject: path)
        }
        return try FileDescriptor.duplicate(bpf_map__fd(map), subject: name)
    }

    /// Names of the programs in the object.
    public var programNames: [String] { BPFObject.programNames(of: object) }

    /// Names of the object's own maps (internal `.rodata`/`.bss` maps left out).
    public var mapNames: [String] { BPFObject.mapNames(of: object) }

    /// The program and map names of the object file at `path`, opened but
    /// not loaded (needs no privileges).
    static func names(inFile path: String) throws(FastPathError) -> (programs: [String], maps: [String]) {
        guard let object = path.withCString({ bpf_object__open_file($0, nil) }) else {
            throw FastPathError("open BPF object", code: .errno(fp_errno()), subject: path)
        }
        defer { bpf_object__close(object) }
        return (programNames(of: object), mapNames(of: object))
    }

    private static func programNames(of object: OpaquePointer) -> [String] {
        var names: [String] = []
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            names.append(String(cString: bpf_program__name(current)))
            program = bpf_object__next_program(object, current)
        }
        return names
    }

    private static func mapNames(of object: OpaquePointer) -> [String] {
        var names: [String] = []
        var map = bpf_object__next_map(object, nil)
        while let current = map {
            if !bpf_map__is_internal(current) { names.append(String(cString: bpf_map__name(current))) }
            map = bpf_object__next_map(object, current)
        }
        return names
    }
}
