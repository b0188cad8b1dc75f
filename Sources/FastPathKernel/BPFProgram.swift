import CFastPathShim
import CLibBPF

/// A loaded BPF program: its fd, kernel name and id. Either borrowed from a
/// `BPFObject` (which it keeps alive) or owning its own fd (`open(id:)`,
/// `openPinned(path:)`).
public final class BPFProgram {
    /// The program fd; valid as long as this value lives.
    public let fd: Int32
    /// The kernel's name for it (BPF_OBJ_NAME_LEN: at most 15 characters).
    public let name: String
    /// The kernel's program id (what `bpf_xdp_query`/`bpf_tc_query` report).
    public let id: UInt32
    /// `enum bpf_prog_type` value (6 = XDP, 3 = SCHED_CLS).
    public let type: UInt32

    private let object: BPFObject?
    private let owned: FileDescriptor?

    init(objectFD fd: Int32, from object: BPFObject, label: String) throws(FastPathError) {
        (self.id, self.type, self.name) = try BPFProgram.info(fd, label: label)
        self.fd = fd
        self.object = object
        self.owned = nil
    }

    private init(owning descriptor: consuming FileDescriptor, label: String) throws(FastPathError) {
        let fd = descriptor.rawValue
        (self.id, self.type, self.name) = try BPFProgram.info(fd, label: label)
        self.fd = fd
        self.object = nil
        self.owned = consume descriptor
    }

    /// Opens the loaded program with kernel id `id` (e.g. one found attached).
    public static func open(id: UInt32) throws(FastPathError) -> BPFProgram {
        let fd = bpf_prog_get_fd_by_id(id)
        try check(fd, "open BPF program by id", subject: "program id \(id)")
        return try BPFProgram(owning: FileDescriptor(adopting: fd), label: "program id \(id)")
    }

    /// Opens a program pinned on bpffs.
    public static func openPinned(path: String) throws(FastPathError) -> BPFProgram {
        let fd = path.withCString { bpf_obj_get($0) }
        try check(fd, "open pinned BPF program", subject: path)
        return try BPFProgram(owning: FileDescriptor(adopting: fd), label: path)
    }

    /// The kernel ids of the maps the program reads or writes.
    public func mapIDs() throws(FastPathError) -> [UInt32] {
        var ids = [UInt32](repeating: 0, count: 64)
        let count = ids.withUnsafeMutableBufferPointer { fp_prog_map_ids(fd, $0.baseAddress, UInt32($0.count)) }
        try check(count, "read BPF program maps", subject: name)
        return Array(ids[0..<Int(count)])
    }

    private static func info(_ fd: Int32, label: String) throws(FastPathError) -> (UInt32, UInt32, String) {
        var id: UInt32 = 0
        var type: UInt32 = 0
        var rc: Int32 = 0
        let name = withCharBuffer(count: 16) { rc = fp_prog_info(fd, &id, &type, $0) }
        try check(rc, "read BPF program info", subject: label)
        return (id, type, name)
    }
}
