import CFastPathShim

/// libbpf's own diagnostics. By default libbpf prints warnings and the
/// kernel's extended ack messages ("libbpf: Kernel error message: ...") to
/// stderr, also for failures fastpath expects and handles (an existing
/// clsact qdisc, a missing filter). Errors are always printed.
public enum LibBPFLog {
    /// Shows (true, libbpf's default) or hides libbpf warnings and info.
    public static func setWarningsVisible(_ visible: Bool) {
        fp_libbpf_set_quiet(visible ? 0 : 1)
    }
}
