import CFastPathShim
import CNetlink

/// Asks the kernel which interface a destination is reached through
/// (`RTM_GETROUTE` for one address, what `ip route get ADDRESS` does), on one
/// blocking rtnetlink socket bound to the creating thread's namespace.
///
/// The daemon learns the ingress interface of each conntrack direction this
/// way: packets of a direction arrive on the interface that leads back
/// toward their source.
public final class RouteLookup {
    private let socket: NetlinkSocket
    private let reply = RouteLookupReply()

    /// Opens the socket in the calling thread's network namespace.
    public init() throws(FastPathError) {
        let socket = try NetlinkSocket(protocol: NETLINK_ROUTE, purpose: "route lookups")
        // One reply (or one error) per request, matched by sequence number
        // in the callbacks: no ACK, and no libnl sequence check.
        nl_socket_disable_auto_ack(socket.handle)
        nl_socket_disable_seq_check(socket.handle)
        reply.attach(to: socket)
        self.socket = socket
    }

    /// The output interface toward `address` (`family` 4 or 6, 4 or 16
    /// network-order bytes): the route's `RTA_OIF`, as the kernel would
    /// choose it for a packet sent from this host (policy routing included).
    /// nil when there is no usable route: no route at all (ENETUNREACH), an
    /// `unreachable` (EHOSTUNREACH), `blackhole` (EINVAL) or `prohibit`
    /// (EACCES) route. A local address gives the loopback device.
    public func outputInterface(toward address: [UInt8], family: UInt8) throws(FastPathError) -> UInt32? {
        let width = family == 4 ? 4 : 16
        guard family == 4 || family == 6, address.count == width else {
            throw FastPathError("look up route", code: .errno(EINVAL),
                                hint: "family must be 4 or 6 with a 4- or 16-byte address")
        }
        guard let message = nlmsg_alloc_simple(Int32(RTM_GETROUTE), NLM_F_REQUEST) else {
            throw FastPathError("allocate route request", code: .netlink(NLE_NOMEM))
        }
        defer { nlmsg_free(message) }
        var request = rtmsg()
        request.rtm_family = UInt8(family == 4 ? AF_INET : AF_INET6)
        request.rtm_dst_len = UInt8(width * 8)
        try netlinkCheck(nlmsg_append(message, &request, MemoryLayout<rtmsg>.size, Int32(NLMSG_ALIGNTO)),
                         "build route request")
        try netlinkCheck(address.withUnsafeBytes { nla_put(message, Int32(RTA_DST.rawValue), Int32(width), $0.baseAddress) },
                         "build route request")
        try netlinkCheck(nl_send_auto(socket.handle, message), "send route request")

        reply.reset(sequence: nlmsg_hdr(message).pointee.nlmsg_seq)
        var reads = 0
        while !reply.done {
            // Earlier requests' stray replies (an interrupted call) are skipped
            // by sequence number; bound the reads all the same.
            reads += 1
            if reads > 16 { throw FastPathError("look up route", hint: "no reply from rtnetlink") }
            let rc = withExtendedLifetime(reply) { nl_recvmsgs_default(socket.handle) }
            if rc < 0 && !reply.done { throw FastPathError("look up route", code: .netlink(-rc)) }
        }
        switch reply.errno {
        case 0:
            return reply.outputInterface
        case ENETUNREACH, EHOSTUNREACH, EINVAL, EACCES:
            return nil
        default:
            throw FastPathError("look up route", code: .errno(reply.errno))
        }
    }
}

/// The state the C callbacks fill for the request being answered.
private final class RouteLookupReply {
    var sequence: UInt32 = 0
    var done = false
    var errno: Int32 = 0
    var outputInterface: UInt32?

    func reset(sequence: UInt32) {
        self.sequence = sequence
        done = false
        errno = 0
        outputInterface = nil
    }

    func attach(to socket: NetlinkSocket) {
        let argument = Unmanaged.passUnretained(self).toOpaque()
        nl_socket_modify_cb(socket.handle, NL_CB_VALID, NL_CB_CUSTOM, { message, argument in
            guard let message, let argument, let header = nlmsg_hdr(message) else { return Int32(NL_SKIP.rawValue) }
            let reply = Unmanaged<RouteLookupReply>.fromOpaque(argument).takeUnretainedValue()
            guard header.pointee.nlmsg_seq == reply.sequence, !reply.done,
                  Int(header.pointee.nlmsg_type) == RTM_NEWROUTE else { return Int32(NL_SKIP.rawValue) }
            reply.done = true
            if let attribute = nlmsg_find_attr(header, Int32(MemoryLayout<rtmsg>.size), Int32(RTA_OIF.rawValue)) {
                reply.outputInterface = nla_get_u32(attribute)
            }
            return Int32(NL_STOP.rawValue)
        }, argument)
        nl_socket_modify_err_cb(socket.handle, NL_CB_CUSTOM, { _, error, argument in
            guard let error, let argument else { return Int32(NL_STOP.rawValue) }
            let reply = Unmanaged<RouteLookupReply>.fromOpaque(argument).takeUnretainedValue()
            // The error message echoes the request's header.
            guard error.pointee.msg.nlmsg_seq == reply.sequence else { return Int32(NL_SKIP.rawValue) }
            reply.done = true
            reply.errno = -error.pointee.error
            return Int32(NL_STOP.rawValue)
        }, argument)
    }
}
