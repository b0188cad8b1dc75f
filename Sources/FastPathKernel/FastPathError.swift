import CFastPathShim
import CLibBPF
import CNetlink

/// The one error type of fastpath: what failed, the code the kernel or a
/// library gave, and where (interface, path, map), with a description a
/// person can act on. Every throwing API uses `throws(FastPathError)`.
public struct FastPathError: Error, Equatable, CustomStringConvertible {
    /// The code behind the failure.
    public enum Code: Equatable, Sendable {
        /// No system code: a check of fastpath's own failed (size mismatch, missing name).
        case none
        /// A positive errno (libbpf's `-errno` returns are negated back).
        case errno(Int32)
        /// A libnl `NLE_*` code (positive).
        case netlink(Int32)
        /// The BPF verifier refused a program because it calls this helper
        /// (e.g. "bpf_xdp_adjust_meta"), which the program type may not use here.
        case refusedHelper(String)
    }

    /// What was being done, e.g. "attach XDP program in native mode".
    public var operation: String
    /// The errno or `NLE_*` code, if any.
    public var code: Code
    /// Where: an interface name, a file or pin path, a map or program name.
    public var subject: String?
    /// What a person can do about it, when fastpath knows.
    public var hint: String?

    public init(_ operation: String, code: Code = .none, subject: String? = nil, hint: String? = nil) {
        self.operation = operation
        self.code = code
        self.subject = subject
        self.hint = hint ?? FastPathError.defaultHint(for: code)
    }

    /// The errno, if the failure carried one.
    public var errno: Int32? {
        if case .errno(let value) = code { return value }
        return nil
    }

    /// "eth0: attach XDP program in native mode: Operation not supported (errno 95); hint"
    public var description: String {
        var text = ""
        if let subject { text += subject + ": " }
        text += operation
        switch code {
        case .none:
            break
        case .errno(let value):
            text += ": " + FastPathError.errnoText(value) + " (errno \(value))"
        case .netlink(let value):
            text += ": " + FastPathError.netlinkText(value) + " (netlink error \(value))"
        case .refusedHelper(let helper):
            text += ": the kernel refuses helper " + helper
        }
        if let hint { text += "; " + hint }
        return text
    }

    static func errnoText(_ value: Int32) -> String {
        withCharBuffer(count: 128) { fp_libbpf_strerror(value, $0, 128) }
    }

    static func netlinkText(_ value: Int32) -> String {
        guard let text = nl_geterror(value) else { return "unknown netlink error" }
        return String(cString: text)
    }

    static func defaultHint(for code: Code) -> String? {
        switch code {
        case .errno(EPERM), .errno(EACCES):
            return "run as root (needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)"
        default:
            return nil
        }
    }
}

extension FastPathError {
    /// From a libbpf-style negative return (`-errno`; libbpf and the shim
    /// never return a bare -1), or from `errno` when there is none (rc >= 0).
    static func fromReturn(_ rc: Int32, _ operation: String, subject: String?, hint: String? = nil) -> FastPathError {
        let value = rc < 0 ? -rc : fp_errno()
        return FastPathError(operation, code: .errno(value == 0 ? EIO : value), subject: subject, hint: hint)
    }
}

extension FastPathError {
    /// A map is full (E2BIG from a BPF map update).
    public var isMapFull: Bool { errno == E2BIG }
    /// The entry exists already (EEXIST, e.g. an update with BPF_NOEXIST).
    public var isAlreadyPresent: Bool { errno == EEXIST }
}
