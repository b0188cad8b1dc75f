import CFastPathShim

/// This process and others: pid, signals, daemonizing, memory use.
public enum ProcessControl {
    public static var pid: Int32 { fp_getpid() }

    public enum Signal: Int32 {
        case hangup = 1, interrupt = 2, kill = 9, terminate = 15
    }

    /// Sends `signal` to `pid`; false if there is no such process.
    public static func send(_ signal: Signal, to pid: Int32) throws(FastPathError) -> Bool {
        let rc = fp_kill(pid, signal.rawValue)
        if rc == -ESRCH { return false }
        try check(rc, "send signal \(signal.rawValue)", subject: "pid \(pid)")
        return true
    }

    /// Whether `pid` names a live process (a zombie is not).
    public static func isAlive(_ pid: Int32) -> Bool {
        fp_process_alive(pid) == 1
    }

    /// Notes the descriptors the process was started with: the only ones
    /// besides stdio that `restartInPlace` passes on. Call it first thing.
    public static func rememberInheritedDescriptors() {
        fp_remember_inherited_descriptors()
    }

    /// Runs this executable afresh in this process (same pid, so procd
    /// keeps watching it) with `arguments` (without the program name).
    /// Returns only if that failed.
    public static func restartInPlace(arguments: [String]) -> FastPathError {
        var flat: [CChar] = []
        var offsets: [Int] = []
        for argument in ["fastpath"] + arguments {
            offsets.append(flat.count)
            flat += argument.utf8CString
        }
        let rc = flat.withUnsafeBufferPointer { buffer -> Int32 in
            var argv: [UnsafePointer<CChar>?] = offsets.map { buffer.baseAddress! + $0 }
            argv.append(nil)
            return argv.withUnsafeBufferPointer { fp_reexec($0.baseAddress!) }
        }
        return FastPathError("restart in place", code: .errno(-rc), subject: "/proc/self/exe")
    }

    /// Forks into the background (setsid); returns in the daemon only.
    public static func daemonize() throws(FastPathError) {
        try check(fp_daemonize(), "daemonize", subject: nil)
    }

    /// Resident set size in KiB (/proc/self/statm).
    public static var residentKiB: Int { Int(fp_rss_kib()) }
}

/// Small files: the pid file, the applied state, the qdisc list.
public enum SmallFile {
    /// The whole file as text, or nil if it does not exist.
    public static func read(_ path: String) throws(FastPathError) -> String? {
        try readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole file as it is, or nil if it does not exist.
    public static func readBytes(_ path: String) throws(FastPathError) -> [UInt8]? {
        let size = path.withCString { fp_file_size($0) }
        if size == -Int(ENOENT) { return nil }
        guard size >= 0 else { throw FastPathError("read file", code: .errno(Int32(-size)), subject: path) }
        // procfs and sysfs files say 0 (or a page) whatever they hold.
        var buffer = [UInt8](repeating: 0, count: max(size, 4096) + 1)
        let count = buffer.withUnsafeMutableBytes { raw in
            path.withCString { fp_read_file($0, raw.baseAddress, raw.count) }
        }
        if count == -Int(ENOENT) { return nil }
        guard count >= 0 else { throw FastPathError("read file", code: .errno(Int32(-count)), subject: path) }
        buffer.removeSubrange(min(count, buffer.count - 1)...)
        return buffer
    }

    /// Replaces the file atomically (temporary file and rename).
    public static func write(_ path: String, _ text: String) throws(FastPathError) {
        var copy = text
        let rc = copy.withUTF8 { bytes in
            path.withCString { fp_write_file_atomic($0, bytes.baseAddress, bytes.count, 0o644) }
        }
        try check(rc, "write file", subject: path)
    }

    /// Writes an existing file in place (a sysctl under /proc/sys).
    public static func overwrite(_ path: String, _ text: String) throws(FastPathError) {
        var copy = text
        let rc = copy.withUTF8 { bytes in path.withCString { fp_write_file($0, bytes.baseAddress, bytes.count) } }
        try check(rc, "write", subject: path)
    }

    /// Removes the file; a missing one is fine.
    public static func remove(_ path: String) throws(FastPathError) {
        let rc = path.withCString { fp_unlink($0) }
        if rc < 0 && rc != -ENOENT { try check(rc, "remove file", subject: path) }
    }

    /// Removes an empty directory; a missing one is fine.
    public static func removeDirectory(_ path: String) throws(FastPathError) {
        let rc = path.withCString { fp_rmdir($0) }
        if rc < 0 && rc != -ENOENT { try check(rc, "remove directory", subject: path) }
    }

    public static func makeDirectory(_ path: String) throws(FastPathError) {
        try check(path.withCString { fp_mkdir_p($0, 0o755) }, "create directory", subject: path)
    }

    public static func exists(_ path: String) -> Bool {
        path.withCString { fp_path_exists($0) } == 1
    }
}

/// The interfaces of the calling thread's network namespace.
public enum InterfaceList {
    public static func indexes() throws(FastPathError) -> [UInt32] {
        var capacity = 64
        while true {
            var indexes = [UInt32](repeating: 0, count: capacity)
            let count = indexes.withUnsafeMutableBufferPointer { fp_interface_indexes($0.baseAddress, Int32(capacity)) }
            try check(count, "list interfaces", subject: nil)
            if Int(count) <= capacity { return Array(indexes[0..<Int(count)]) }
            capacity = Int(count)
        }
    }
}

/// The BPF filesystem pins live on.
public enum BPFFileSystem {
    /// Mounts bpffs on `directory` (e.g. /sys/fs/bpf) unless it is there.
    public static func ensureMounted(at directory: String) throws(FastPathError) {
        let rc = directory.withCString { fp_mount_bpffs_if_needed($0) }
        try check(rc, "mount bpffs", subject: directory)
    }
}
