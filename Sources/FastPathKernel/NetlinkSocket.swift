import CFastPathShim
import CNetlink

/// Throws for a libnl negative `NLE_*` return.
func netlinkCheck(_ rc: Int32, _ operation: @autoclosure () -> String,
                  subject: @autoclosure () -> String? = nil) throws(FastPathError) {
    if rc < 0 { throw FastPathError(operation(), code: .netlink(-rc), subject: subject()) }
}

/// One libnl socket (`nl_sock`) connected to a netlink protocol in the
/// calling thread's namespace; freed (fd closed) exactly once, in `deinit`.
final class NetlinkSocket {
    let handle: OpaquePointer

    init(protocol netlinkProtocol: Int32, purpose: String) throws(FastPathError) {
        guard let handle = nl_socket_alloc() else {
            throw FastPathError("allocate netlink socket for " + purpose, code: .netlink(NLE_NOMEM))
        }
        let rc = nl_connect(handle, netlinkProtocol)
        if rc < 0 {
            nl_socket_free(handle)
            throw FastPathError("open netlink socket for " + purpose, code: .netlink(-rc))
        }
        self.handle = handle
    }

    deinit {
        nl_socket_free(handle)
    }

    var fileDescriptor: Int32 { nl_socket_get_fd(handle) }

    /// A non-blocking socket for notifications, joined to `groups`.
    /// Notifications carry sequence number 0: no sequence check.
    static func subscribed(protocol netlinkProtocol: Int32, groups: [UInt32],
                           purpose: String) throws(FastPathError) -> NetlinkSocket {
        let socket = try NetlinkSocket(protocol: netlinkProtocol, purpose: purpose)
        nl_socket_disable_seq_check(socket.handle)
        try netlinkCheck(nl_socket_set_nonblocking(socket.handle), "make the \(purpose) socket non-blocking")
        for group in groups {
            try netlinkCheck(nl_socket_add_membership(socket.handle, Int32(group)),
                             "join multicast group \(group) for \(purpose)")
        }
        return socket
    }

    /// Sets the receive buffer with SO_RCVBUFFORCE (it may exceed
    /// net.core.rmem_max as root); returns what the kernel granted.
    func setReceiveBuffer(_ bytes: Int) throws(FastPathError) -> Int {
        let granted = fp_socket_set_receive_buffer(fileDescriptor, Int32(clamping: bytes))
        try check(granted, "set the receive buffer of a netlink socket", subject: nil)
        return Int(granted)
    }

    /// Routes every valid message to `sink` (parsed with `nl_msg_parse`).
    /// The sink must outlive the socket: it is passed unretained.
    func setValidMessageHandler(_ sink: KernelEventSink) {
        nl_socket_modify_cb(handle, NL_CB_VALID, NL_CB_CUSTOM, { message, argument in
            guard let message, let argument else { return Int32(NL_SKIP.rawValue) }
            // The family byte starts every rtnetlink payload (rtgenmsg, ifinfomsg, …).
            let header = nlmsg_hdr(message)!
            Unmanaged<KernelEventSink>.fromOpaque(argument).takeUnretainedValue().messageFamily =
                nlmsg_datalen(header) > 0 ? nlmsg_data(header).load(as: UInt8.self) : 0
            // Unknown message types fail to parse (NLE_MSGTYPE_NOSUPPORT): skipped.
            _ = nl_msg_parse(message, { object, argument in
                guard let object, let argument else { return }
                Unmanaged<KernelEventSink>.fromOpaque(argument).takeUnretainedValue().take(object)
            }, argument)
            return Int32(NL_OK.rawValue)
        }, Unmanaged.passUnretained(sink).toOpaque())
    }
}

extension NetlinkSocket {
    /// Reads the pending datagrams without blocking (at most `limit`, so a
    /// storm cannot starve the poll loop), letting the socket's callbacks
    /// parse them. ENOBUFS (events lost) calls `overflow` and goes on.
    func drain(limit: Int, what: String, overflow: () -> Void) -> FastPathError? {
        var datagrams = 0
        while datagrams < limit {
            let ready = fp_poll_readable(fileDescriptor, 0)
            if ready == 0 { return nil }
            if ready < 0 { return FastPathError.fromReturn(ready, "poll " + what, subject: nil) }
            datagrams += 1
            let rc = nl_recvmsgs_default(handle)
            if rc >= 0 { continue }
            // libnl maps recvmsg's ENOBUFS to NLE_NOMEM; errno still says which.
            if rc == -NLE_NOMEM && fp_errno() == ENOBUFS {
                overflow()
                continue
            }
            return FastPathError("receive " + what, code: .netlink(-rc))
        }
        return nil
    }
}
