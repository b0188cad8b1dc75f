import CFastPathShim

/// A TC (`sched_cls`, direct-action) program on one of an interface's
/// clsact hooks. fastpath always uses one filter slot per hook,
/// `handle`/`priority` below, so it finds and replaces only its own filter.
/// Like XDP, the filter stays when the process exits; `detach()` removes it.
public struct TCAttachment: Equatable {
    /// The clsact hook: ingress (forwarding) or egress (after the kernel's
    /// own forwarding decision).
    public enum Hook: Equatable {
        case ingress, egress

        var flag: UInt32 { self == .ingress ? FP_TC_INGRESS : FP_TC_EGRESS }
        var label: String { self == .ingress ? "ingress" : "egress" }
    }

    /// The filter handle fastpath uses.
    public static let handle: UInt32 = 1
    /// The filter priority fastpath uses (1 runs first).
    public static let priority: UInt32 = 1

    public let ifindex: UInt32
    public let hook: Hook
    public let programID: UInt32
    /// Whether this attach created the clsact qdisc (so fastpath may remove it).
    public var createdQdisc = false

    /// Creates the clsact qdisc if needed (an existing one is fine) and
    /// attaches `program` at `hook`, replacing fastpath's previous filter
    /// atomically when `replace` is true.
    public static func attach(_ program: BPFProgram, ifindex: UInt32, hook: Hook = .ingress,
                              replace: Bool = true) throws(FastPathError) -> TCAttachment
    {
        let ifi = Int32(bitPattern: ifindex)
        let created = fp_tc_hook_create(ifi, FP_TC_INGRESS)
        if created < 0 && created != -EEXIST {
            try check(created, "create clsact qdisc", subject: interfaceLabel(ifindex))
        }
        var id: UInt32 = 0
        let rc = fp_tc_attach(ifi, hook.flag, program.descriptor.rawValue, handle, priority, replace ? 1 : 0, &id)
        try check(rc, "attach TC program \(program.name) at \(hook.label)", subject: interfaceLabel(ifindex),
                  hint: rc == -EEXIST ? "fastpath's filter slot is taken: detach first or attach with replace" : nil)
        return TCAttachment(ifindex: ifindex, hook: hook, programID: id, createdQdisc: created >= 0)
    }

    /// Removes fastpath's filter (the clsact qdisc stays).
    public func detach() throws(FastPathError) {
        try TCAttachment.detach(ifindex: ifindex, hook: hook)
    }

    /// Removes fastpath's filter at `hook` from `ifindex`; returns false if
    /// there was none.
    @discardableResult
    public static func detach(ifindex: UInt32, hook: Hook = .ingress) throws(FastPathError) -> Bool {
        let rc = fp_tc_detach(Int32(bitPattern: ifindex), hook.flag, handle, priority)
        if rc == -ENOENT || rc == -EINVAL { return false }
        try check(rc, "detach TC program at \(hook.label)", subject: interfaceLabel(ifindex))
        return true
    }

    /// The id of the program in fastpath's filter slot at `hook`, or nil.
    public static func query(ifindex: UInt32, hook: Hook = .ingress) throws(FastPathError) -> UInt32? {
        var id: UInt32 = 0
        let rc = fp_tc_query(Int32(bitPattern: ifindex), hook.flag, handle, priority, &id)
        if rc == -ENOENT || rc == -EINVAL { return nil }
        try check(rc, "query TC filter", subject: interfaceLabel(ifindex))
        return id
    }

    /// Deletes the clsact qdisc (ingress and egress, with every filter on
    /// it, fastpath's or not); a missing qdisc is fine.
    public static func destroyClsact(ifindex: UInt32) throws(FastPathError) {
        let rc = fp_tc_hook_destroy(Int32(bitPattern: ifindex), FP_TC_INGRESS | FP_TC_EGRESS)
        if rc == -ENOENT || rc == -EINVAL { return }
        try check(rc, "delete clsact qdisc", subject: interfaceLabel(ifindex))
    }
}
