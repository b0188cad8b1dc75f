import CFastPathShim
import CNetlink
import FastPathCore

/// Changes conntrack entries through ctnetlink, on one blocking libnl
/// `NETLINK_NETFILTER` socket bound to the creating thread's namespace.
///
/// An entry is named by its original-direction tuple (as `ConntrackEntry.original`
/// gives it) and its zone. Both calls return false when the kernel has no
/// such entry any more (ENOENT, or ETIME for an entry already dying): that
/// is the normal race with expiry and `conntrack -D`, not an error.
///
/// Every successful change makes the kernel send an UPDATE (or DESTROY)
/// event, which a `ConntrackMonitor` in the same namespace receives too.
public final class ConntrackControl {
    private let socket: NetlinkSocket
    private let acknowledgement = NetlinkErrorRecord()

    /// Opens the socket in the calling thread's network namespace.
    public init() throws(FastPathError) {
        socket = try NetlinkSocket(protocol: NETLINK_NETFILTER, purpose: "conntrack control")
        acknowledgement.attach(to: socket)
    }

    /// Sets the timeout of the existing entry whose original tuple is
    /// `original` to `seconds` from now (`IPCTNL_MSG_CT_NEW` without
    /// NLM_F_CREATE, with CTA_TIMEOUT: an update, never a creation). The
    /// kernel resets it again on the next packet the entry sees through the
    /// slow path, by its protocol's timeout for the state.
    /// Returns false when the entry no longer exists.
    @discardableResult
    public func setTimeout(_ original: ConntrackTuple, seconds: UInt32, zone: UInt16 = 0) throws(FastPathError) -> Bool {
        try send(original, zone: zone, .setTimeout(seconds), operation: "set conntrack timeout")
    }

    /// Deletes the entry whose original tuple is `original` (`IPCTNL_MSG_CT_DELETE`).
    /// Returns false when the entry no longer exists.
    @discardableResult
    public func delete(_ original: ConntrackTuple, zone: UInt16 = 0) throws(FastPathError) -> Bool {
        try send(original, zone: zone, .delete, operation: "delete conntrack entry")
    }

    /// Whether the kernel still has the entry (`IPCTNL_MSG_CT_GET`): how
    /// the end of an entry that reports no events is noticed.
    public func exists(_ original: ConntrackTuple, zone: UInt16 = 0) throws(FastPathError) -> Bool {
        try send(original, zone: zone, .query, operation: "look up conntrack entry")
    }

    // MARK: - thin layer

    /// Marks a TCP entry "be liberal" in both directions (what the kernel's
    /// own flow offload does): its packets skip conntrack while offloaded,
    /// so conntrack's window tracking falls behind, and without this the
    /// next packet it sees (a FIN) would be INVALID and dropped by the
    /// firewall. Returns false when the entry no longer exists.
    @discardableResult
    public func makeLiberal(_ original: ConntrackTuple, zone: UInt16 = 0) throws(FastPathError) -> Bool {
        try send(original, zone: zone, .beLiberal, operation: "mark conntrack entry liberal")
    }

    private enum Request {
        case setTimeout(UInt32)
        case delete
        case beLiberal
        case query
    }

    private func send(_ tuple: ConntrackTuple, zone: UInt16, _ request: Request,
                      operation: String) throws(FastPathError) -> Bool {
        let subject = ConntrackControl.label(tuple)
        let width = tuple.family == 4 ? 4 : 16
        guard tuple.family == 4 || tuple.family == 6, tuple.source.count == width,
              tuple.destination.count == width else {
            throw FastPathError(operation, code: .errno(EINVAL), subject: subject,
                                hint: "family must be 4 or 6 with 4- or 16-byte addresses")
        }
        guard let ct = nfnl_ct_alloc() else {
            throw FastPathError(operation, code: .netlink(NLE_NOMEM), subject: subject)
        }
        defer { nfnl_ct_put(ct) }
        let family = tuple.family == 4 ? AF_INET : AF_INET6
        nfnl_ct_set_family(ct, UInt8(family))
        nfnl_ct_set_proto(ct, tuple.proto)
        try ConntrackControl.setAddress(ct, family: family, bytes: tuple.source, isSource: true, operation: operation)
        try ConntrackControl.setAddress(ct, family: family, bytes: tuple.destination, isSource: false,
                                        operation: operation)
        if tuple.isICMP {
            nfnl_ct_set_icmp_id(ct, 0, tuple.sourcePort)
            nfnl_ct_set_icmp_type(ct, 0, UInt8(truncatingIfNeeded: tuple.destinationPort >> 8))
            nfnl_ct_set_icmp_code(ct, 0, UInt8(truncatingIfNeeded: tuple.destinationPort))
        } else {
            nfnl_ct_set_src_port(ct, 0, tuple.sourcePort)
            nfnl_ct_set_dst_port(ct, 0, tuple.destinationPort)
        }
        // CTA_ZONE only when needed: kernels without CONFIG_NF_CONNTRACK_ZONES
        // (some OpenWrt builds) reject the attribute with EOPNOTSUPP.
        if zone != 0 { nfnl_ct_set_zone(ct, zone) }
        if case .setTimeout(let seconds) = request { nfnl_ct_set_timeout(ct, seconds) }

        acknowledgement.errno = 0
        // libnl 3.7 passes the flags through as given: 0 means no NLM_F_CREATE,
        // so a missing entry is ENOENT instead of an attempt to create one.
        let rc = withExtendedLifetime(acknowledgement) { () -> Int32 in
            switch request {
            case .setTimeout: return nfnl_ct_add(socket.handle, ct, 0)
            case .delete: return nfnl_ct_del(socket.handle, ct, 0)
            case .beLiberal: return ConntrackControl.sendLiberal(socket.handle, ct)
            case .query: return nfnl_ct_query(socket.handle, ct, 0)
            }
        }
        if rc >= 0 { return true }
        let errno = acknowledgement.errno
        if errno == ENOENT || errno == ETIME || (errno == 0 && rc == -NLE_OBJ_NOTFOUND) { return false }
        if errno != 0 {
            throw FastPathError(operation, code: .errno(errno), subject: subject,
                                hint: errno == EOPNOTSUPP ? "kernel lacks conntrack zones or ctnetlink" : nil)
        }
        throw FastPathError(operation, code: .netlink(-rc), subject: subject)
    }

    /// An update (no NLM_F_CREATE) carrying CTA_PROTOINFO_TCP flags with
    /// IP_CT_TCP_FLAG_BE_LIBERAL set in both directions.
    private static func sendLiberal(_ socket: OpaquePointer, _ ct: OpaquePointer) -> Int32 {
        var message: OpaquePointer?
        var rc = nfnl_ct_build_add_request(ct, 0, &message)
        guard rc >= 0, let message else { return rc }
        defer { nlmsg_free(message) }
        let beLiberal: UInt8 = 0x08 // IP_CT_TCP_FLAG_BE_LIBERAL
        var flags: (UInt8, UInt8) = (beLiberal, beLiberal) // struct nf_ct_tcp_flags { flags, mask }
        guard let protoinfo = nla_nest_start(message, Int32(CTA_PROTOINFO.rawValue)),
              let tcp = nla_nest_start(message, Int32(CTA_PROTOINFO_TCP.rawValue)) else { return -NLE_NOMEM }
        for attribute in [CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, CTA_PROTOINFO_TCP_FLAGS_REPLY] {
            rc = withUnsafeBytes(of: &flags) { nla_put(message, Int32(attribute.rawValue), 2, $0.baseAddress) }
            if rc < 0 { return rc }
        }
        nla_nest_end(message, tcp)
        nla_nest_end(message, protoinfo)
        rc = nl_send_auto(socket, message)
        if rc < 0 { return rc }
        return nl_wait_for_ack(socket)
    }

    private static func setAddress(_ ct: OpaquePointer, family: Int32, bytes: [UInt8], isSource: Bool,
                                   operation: String) throws(FastPathError) {
        let address = bytes.withUnsafeBytes { nl_addr_build(family, $0.baseAddress, $0.count) }
        guard let address else { throw FastPathError(operation, code: .netlink(NLE_NOMEM)) }
        defer { nl_addr_put(address) }
        let rc = isSource ? nfnl_ct_set_src(ct, 0, address) : nfnl_ct_set_dst(ct, 0, address)
        try netlinkCheck(rc, operation)
    }

    /// "udp 10.0.0.2:5000 -> 10.0.1.2:53" for error messages.
    static func label(_ tuple: ConntrackTuple) -> String {
        let name: String
        switch tuple.proto {
        case ConntrackTuple.tcp: name = "tcp"
        case ConntrackTuple.udp: name = "udp"
        case ConntrackTuple.icmp: name = "icmp"
        case ConntrackTuple.icmpv6: name = "icmpv6"
        default: name = "proto \(tuple.proto)"
        }
        return name + " " + endpoint(tuple.source, tuple.sourcePort, tuple.family) + " -> "
            + endpoint(tuple.destination, tuple.destinationPort, tuple.family)
    }

    private static func endpoint(_ bytes: [UInt8], _ port: UInt16, _ family: UInt8) -> String {
        var text = ""
        if family == 4 {
            for (index, byte) in bytes.enumerated() { text += (index == 0 ? "" : ".") + "\(byte)" }
            return text + ":\(port)"
        }
        var index = 0
        while index + 1 < bytes.count {
            let word = UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
            text += (index == 0 ? "" : ":") + hex(word)
            index += 2
        }
        return "[" + text + "]:\(port)"
    }

    private static func hex(_ value: UInt16) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        var text = ""
        var started = false
        for shift in stride(from: 12, through: 0, by: -4) {
            let digit = Int((value >> UInt16(shift)) & 0xf)
            if digit != 0 || started || shift == 0 {
                text.append(digits[digit])
                started = true
            }
        }
        return text
    }
}

/// Captures the errno of a netlink error message (libnl would map it to a
/// coarser `NLE_*` code: ENOENT and ESRCH both become NLE_OBJ_NOTFOUND,
/// ETIME becomes NLE_FAILURE).
final class NetlinkErrorRecord {
    /// The positive errno of the last NLMSG_ERROR; 0 when none.
    var errno: Int32 = 0

    /// Installs the error callback on `socket` (passed unretained: the record
    /// must outlive the socket's use).
    func attach(to socket: NetlinkSocket) {
        nl_socket_modify_err_cb(socket.handle, NL_CB_CUSTOM, { _, error, argument in
            guard let error, let argument else { return Int32(NL_STOP.rawValue) }
            Unmanaged<NetlinkErrorRecord>.fromOpaque(argument).takeUnretainedValue().errno = -error.pointee.error
            // NL_STOP: nl_recvmsgs returns the (mapped) error.
            return Int32(NL_STOP.rawValue)
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}
