import CFastPathShim

/// Writes text to standard output or standard error with write(2)
/// (no stdio globals: they are errors in Swift 6 mode and absent in Embedded).
public enum Console {
    /// Writes `text` (no newline added) to standard output.
    public static func write(_ text: String) {
        put(text, fd: 1)
    }

    /// Writes `text` plus a newline to standard output.
    public static func line(_ text: String) {
        put(text + "\n", fd: 1)
    }

    /// Writes `text` plus a newline to standard error.
    public static func error(_ text: String) {
        put(text + "\n", fd: 2)
    }

    private static func put(_ text: String, fd: Int32) {
        var copy = text
        copy.withUTF8 { bytes in
            _ = fp_write_all(fd, bytes.baseAddress, bytes.count)
        }
    }
}
