import CFastPathShim

/// Owns one file descriptor and closes it exactly once, in `deinit`. Its
/// number stays inside FastPathKernel.
@frozen
public struct FileDescriptor: ~Copyable {
    /// The descriptor number; valid while this owner lives.
    let rawValue: Int32

    /// Takes ownership of an open descriptor.
    init(adopting rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Opens `path` read-only (`O_CLOEXEC`).
    public static func open(readOnly path: String) throws(FastPathError) -> FileDescriptor {
        let fd = path.withCString { fp_open_readonly($0) }
        try check(fd, "open", subject: path)
        return FileDescriptor(adopting: fd)
    }

    /// A descriptor of its own for `borrowed`, which its owner (libbpf)
    /// closes (`F_DUPFD_CLOEXEC`).
    static func duplicate(_ borrowed: Int32, subject: String) throws(FastPathError) -> FileDescriptor {
        let fd = fp_dup_cloexec(borrowed)
        try check(fd, "duplicate descriptor", subject: subject)
        return FileDescriptor(adopting: fd)
    }

    deinit {
        _ = fp_close(rawValue)
    }
}
