import CFastPathShim
import CLibBPF

/// A loaded BPF program: its own fd, kernel name and id.
public final class BPFProgram {
    let descriptor: FileDescriptor
    /// The kernel's name for it (BPF_OBJ_NAME_LEN: at most 15 characters).
    public let name: String
    /// The kernel's program id (what `bpf_xdp_query`/`bpf_tc_query` report).
    public let id: UInt32
    /// `enum bpf_prog_type` value (6 = XDP, 3 = SCHED_CLS).
    public let type: UInt32

    init(_ descriptor: consuming FileDescriptor, label: String) throws(FastPathError) {
        var id: UInt32 = 0
        var type: UInt32 = 0
        var rc: Int32 = 0
        let fd = descriptor.rawValue
        name = withCharBuffer(count: 16) { rc = fp_prog_info(fd, &id, &type, $0) }
        try check(rc, "read BPF program info", subject: label)
        self.id = id
        self.type = type
        self.descriptor = descriptor
    }

    /// Opens the loaded program with kernel id `id` (e.g. one found attached).
    public static func open(id: UInt32) throws(FastPathError) -> BPFProgram {
        let fd = bpf_prog_get_fd_by_id(id)
        try check(fd, "open BPF program by id", subject: "program id \(id)")
        return try BPFProgram(FileDescriptor(adopting: fd), label: "program id \(id)")
    }

    /// The kernel ids of the maps the program reads or writes.
    public func mapIDs() throws(FastPathError) -> [UInt32] {
        var ids = [UInt32](repeating: 0, count: 64)
        let count = ids.withUnsafeMutableBufferPointer { fp_prog_map_ids(descriptor.rawValue, $0.baseAddress, UInt32($0.count)) }
        try check(count, "read BPF program maps", subject: name)
        return Array(ids[0..<Int(count)])
    }
}
