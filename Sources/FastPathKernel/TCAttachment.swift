import CFastPathShim

/// A TC (`sched_cls`, direct-action) program on an interface's clsact
/// ingress hook. fastpath always uses one filter slot, `handle`/`priority`
/// below, so it finds and replaces only its own filter. Like XDP, the
/// filter stays when the process exits; `detach()` removes it.
public struct TCAttachment: Equatable {
    /// The filter handle fastpath uses.
    public static let handle: UInt32 = 1
    /// The filter priority fastpath uses (1 runs first).
    public static let priority: UInt32 = 1

    public let ifindex: UInt32
    public let programID: UInt32
    /// Whether this attach created the clsact qdisc (so fastpath may remove it).
    public var createdQdisc = false

    /// Creates the clsact qdisc if needed (an existing one is fine) and
    /// attaches `program` at ingress, replacing fastpath's previous filter
    /// atomically when `replace` is true.
    public static func attach(_ program: BPFProgram, ifindex: UInt32, replace: Bool = true) throws(FastPathError)
        -> TCAttachment
    {
        let ifi = Int32(bitPattern: ifindex)
        let created = fp_tc_hook_create(ifi, FP_TC_INGRESS)
        if created < 0 && created != -EEXIST {
            try check(created, "create clsact qdisc", subject: interfaceLabel(ifindex))
        }
        var id: UInt32 = 0
        let rc = fp_tc_attach(ifi, FP_TC_INGRESS, program.fd, handle, priority, replace ? 1 : 0, &id)
        try check(rc, "attach TC program \(program.name) at ingress", subject: interfaceLabel(ifindex),
                  hint: rc == -EEXIST ? "fastpath's filter slot is taken: detach first or attach with replace" : nil)
        return TCAttachment(ifindex: ifindex, programID: id, createdQdisc: created >= 0)
    }

    /// Removes fastpath's ingress filter (the clsact qdisc stays).
    public func detach() throws(FastPathError) {
        try TCAttachment.detach(ifindex: ifindex)
    }

    /// Removes fastpath's ingress filter from `ifindex`; returns false if
    /// there was none.
    @discardableResult
    public static func detach(ifindex: UInt32) throws(FastPathError) -> Bool {
        let rc = fp_tc_detach(Int32(bitPattern: ifindex), FP_TC_INGRESS, handle, priority)
        if rc == -ENOENT || rc == -EINVAL { return false }
        try check(rc, "detach TC program", subject: interfaceLabel(ifindex))
        return true
    }

    /// The id of the program in fastpath's ingress filter slot, or nil.
    public static func query(ifindex: UInt32) throws(FastPathError) -> UInt32? {
        var id: UInt32 = 0
        let rc = fp_tc_query(Int32(bitPattern: ifindex), FP_TC_INGRESS, handle, priority, &id)
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
