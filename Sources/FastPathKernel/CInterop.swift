import CFastPathShim

// Small helpers for moving strings and bytes across the C boundary.
// Internal: nothing above FastPathKernel sees a pointer.

/// Calls `fill` with a zeroed C char buffer of `count` bytes and returns the
/// NUL-terminated string it wrote.
func withCharBuffer(count: Int, _ fill: (UnsafeMutablePointer<CChar>) -> Void) -> String {
    var buffer = [CChar](repeating: 0, count: count + 1)
    return buffer.withUnsafeMutableBufferPointer { chars -> String in
        fill(chars.baseAddress!)
        chars[count] = 0
        return String(cString: chars.baseAddress!)
    }
}

/// `check(rc)`: throws for a libbpf-style negative return, else passes it on.
@discardableResult
func check(_ rc: Int32, _ operation: @autoclosure () -> String, subject: @autoclosure () -> String?,
           hint: String? = nil) throws(FastPathError) -> Int32 {
    if rc < 0 { throw FastPathError.fromReturn(rc, operation(), subject: subject(), hint: hint) }
    return rc
}

/// Interface name for error messages: "ifindex 7" when the index is unknown.
func interfaceLabel(_ ifindex: UInt32) -> String {
    var name = [CChar](repeating: 0, count: 32)
    let rc = name.withUnsafeMutableBufferPointer { fp_if_indextoname(ifindex, $0.baseAddress!) }
    if rc == 0 {
        return name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
    return "ifindex \(ifindex)"
}

/// Joins a directory and a name with exactly one slash.
func joinPath(_ directory: String, _ name: String) -> String {
    if directory.hasSuffix("/") { return directory + name }
    return directory + "/" + name
}
