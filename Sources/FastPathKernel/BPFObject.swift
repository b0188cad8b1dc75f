import CFastPathShim
import CLibBPF

/// A loaded BPF ELF object (`bpf_object`): opened and loaded on init,
/// closed exactly once when the last reference goes (programs and maps taken
/// from it keep it alive).
public final class BPFObject {
    /// The object file it was loaded from.
    public let path: String
    /// The pin directory its maps were bound to at load, if any.
    public let pinDirectory: String?
    private let object: OpaquePointer

    /// Opens and loads the object file at `path`.
    ///
    /// With `pinDirectory`, every named (non-internal) map is bound to
    /// `pinDirectory/<map name>` before load: a compatible pinned map there is
    /// reused (its contents survive a daemon restart), a missing one is
    /// created and pinned. An incompatible pin (other type or sizes) fails
    /// the load: remove the stale pin first. `maxEntries` resizes maps by
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
        if let pinDirectory {
            var map = bpf_object__next_map(object, nil)
            while let current = map {
                if !bpf_map__is_internal(current) {
                    do {
                        try BPFObject.bind(current, toPinIn: pinDirectory)
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
        self.object = object
        self.path = path
        self.pinDirectory = pinDirectory
    }

    deinit {
        bpf_object__close(object)
    }

    /// Binds `map` to `directory/<name>`: an existing pin of the same shape
    /// is reused (its contents survive a restart), a missing one is created
    /// at load. The shape check is ours, not libbpf's: libbpf 1.1 compares
    /// map flags too, and the kernel adds BPF_F_RDONLY_PROG to every devmap,
    /// so libbpf would refuse to reuse a pinned devmap.
    private static func bind(_ map: OpaquePointer, toPinIn directory: String) throws(FastPathError) {
        let pinPath = joinPath(directory, String(cString: bpf_map__name(map)))
        let pinned = pinPath.withCString { bpf_obj_get($0) }
        guard pinned >= 0 else {
            let rc = pinPath.withCString { bpf_map__set_pin_path(map, $0) }
            try check(rc, "set map pin path", subject: pinPath)
            return
        }
        defer { _ = fp_close(pinned) }
        var id: UInt32 = 0, type: UInt32 = 0, keySize: UInt32 = 0, valueSize: UInt32 = 0, maxEntries: UInt32 = 0
        _ = withCharBuffer(count: 16) { name in
            _ = fp_map_info(pinned, &id, &type, &keySize, &valueSize, &maxEntries, name)
        }
        guard type == bpf_map__type(map).rawValue, keySize == bpf_map__key_size(map),
              valueSize == bpf_map__value_size(map), maxEntries == bpf_map__max_entries(map) else {
            throw FastPathError("pinned map has another shape than the object's", subject: pinPath,
                                hint: "left by another fastpath version: run `fastpath detach` to remove it")
        }
        try check(bpf_map__reuse_fd(map, pinned), "reuse pinned map", subject: pinPath)
        try check(pinPath.withCString { bpf_map__set_pin_path(map, $0) }, "set map pin path", subject: pinPath)
    }

    /// The program whose C function is named `name` (e.g. `FP_PROG_XDP`).
    public func program(named name: String) throws(FastPathError) -> BPFProgram {
        guard let program = name.withCString({ bpf_object__find_program_by_name(object, $0) }) else {
            throw FastPathError("no BPF program named \(name)", code: .errno(ENOENT), subject: path)
        }
        return try BPFProgram(objectFD: bpf_program__fd(program), from: self, label: name)
    }

    /// The map named `name` (e.g. `FP_MAP_STATS`).
    public func map(named name: String) throws(FastPathError) -> BPFMap {
        let map = try findMap(name)
        return try BPFMap(objectFD: bpf_map__fd(map), from: self, label: name)
    }

    /// Names of the programs in the object.
    public var programNames: [String] {
        var names: [String] = []
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            names.append(String(cString: bpf_program__name(current)))
            program = bpf_object__next_program(object, current)
        }
        return names
    }

    /// Names of the object's own maps (internal `.rodata`/`.bss` maps left out).
    public var mapNames: [String] {
        var names: [String] = []
        var map = bpf_object__next_map(object, nil)
        while let current = map {
            if !bpf_map__is_internal(current) { names.append(String(cString: bpf_map__name(current))) }
            map = bpf_object__next_map(object, current)
        }
        return names
    }

    /// Pins every named map as `directory/<map name>` (creating the
    /// directory), with `bpf_obj_pin` on the map fd, so it works whether or
    /// not the object was loaded with a pin directory. A pin of the same map
    /// already there is fine; a pin of another map is an error (stale pin).
    public func pinMaps(in directory: String) throws(FastPathError) {
        let bpffsHint = "is \(directory) on bpffs (mount -t bpf bpf /sys/fs/bpf)?"
        let made = directory.withCString { fp_mkdir_p($0, 0o700) }
        try check(made, "create pin directory", subject: directory, hint: bpffsHint)
        var map = bpf_object__next_map(object, nil)
        while let current = map {
            if !bpf_map__is_internal(current) {
                let pinPath = joinPath(directory, String(cString: bpf_map__name(current)))
                let fd = bpf_map__fd(current)
                let rc = pinPath.withCString { bpf_obj_pin(fd, $0) }
                if rc == -EEXIST {
                    let existing = try BPFMap.openPinned(path: pinPath)
                    let mine = try BPFMap(objectFD: fd, from: self, label: pinPath)
                    if existing.id != mine.id {
                        throw FastPathError("pin map", code: .errno(EEXIST), subject: pinPath,
                                            hint: "another map is pinned there: remove the stale pin")
                    }
                } else if rc < 0 {
                    throw FastPathError.fromReturn(rc, "pin map", subject: pinPath,
                                                   hint: rc == -EPERM || rc == -EINVAL ? bpffsHint : nil)
                }
            }
            map = bpf_object__next_map(object, current)
        }
    }

    /// Removes the pins `directory/<map name>` of every named map; missing
    /// pins are not an error.
    public func unpinMaps(in directory: String) throws(FastPathError) {
        var map = bpf_object__next_map(object, nil)
        while let current = map {
            if !bpf_map__is_internal(current) {
                let pinPath = joinPath(directory, String(cString: bpf_map__name(current)))
                let rc = pinPath.withCString { fp_unlink($0) }
                if rc < 0 && rc != -ENOENT {
                    try check(rc, "unpin map", subject: pinPath)
                }
            }
            map = bpf_object__next_map(object, current)
        }
    }

    private func findMap(_ name: String) throws(FastPathError) -> OpaquePointer {
        guard let map = name.withCString({ bpf_object__find_map_by_name(object, $0) }) else {
            throw FastPathError("no BPF map named \(name)", code: .errno(ENOENT), subject: path)
        }
        return map
    }
}
