import CFastPathShim
import CNetlink
import FastPathCore

/// The daemon's window on conntrack: NEW/UPDATE/DESTROY notifications
/// (`receive`) and a dump of the whole table (`dumpAll`), as plain values.
///
/// Two libnl `NETLINK_NETFILTER` sockets, both bound to the network
/// namespace of the thread that creates the monitor: a non-blocking one
/// subscribed to NFNLGRP_CONNTRACK_NEW, _UPDATE and _DESTROY, which the
/// daemon's `Poller` watches, and a blocking one for dumps. Nothing is cached: every message is parsed into a transient
/// libnl `nfnl_ct`, converted and freed.
///
/// The kernel sends events only while someone listens, and a namespace has a
/// conntrack table only once a rule there uses conntrack. Event messages
/// carry both tuples (the reply tuple with the NAT the kernel chose), the
/// status bits and the id; NEW and UPDATE also carry the timeout and the TCP
/// state, DESTROY does not.
public final class ConntrackMonitor: Pollable {
    private let events: NetlinkSocket
    private let dumps: NetlinkSocket
    private let sink: ConntrackEventSink
    /// The receive buffer the kernel granted the event socket (bytes, as
    /// `getsockopt(SO_RCVBUF)` reports it: twice the request).
    public let receiveBufferSize: Int

    /// At most this many datagrams are read per `receive` call, so that an
    /// event storm cannot starve the rest of the poll loop (the fd stays
    /// readable; the next `poll` returns at once).
    public var maximumDatagramsPerReceive = 256

    /// The event socket: readable when notifications are pending.
    public var pollDescriptor: PollDescriptor { PollDescriptor(events.fileDescriptor) }

    /// Subscribes to conntrack events in the calling thread's network
    /// namespace. `receiveBufferSize` is set with SO_RCVBUFFORCE (it may
    /// exceed net.core.rmem_max as root). A busy router creates thousands of
    /// entries a second; too small a buffer overflows and `receive` reports
    /// `.overflow`, after which the caller resynchronises with `dumpAll`.
    public init(receiveBufferSize: Int = 8 << 20) throws(FastPathError) {
        let sink = ConntrackEventSink()
        let groups: [UInt32] = [NFNLGRP_CONNTRACK_NEW.rawValue, NFNLGRP_CONNTRACK_UPDATE.rawValue,
                                NFNLGRP_CONNTRACK_DESTROY.rawValue]
        let events = try NetlinkSocket.subscribed(protocol: NETLINK_NETFILTER, groups: groups, purpose: "conntrack events")
        let dumps = try NetlinkSocket(protocol: NETLINK_NETFILTER, purpose: "conntrack dumps")
        let granted = try events.setReceiveBuffer(receiveBufferSize)
        sink.attach(to: events)
        sink.attach(to: dumps)
        self.events = events
        self.dumps = dumps
        self.sink = sink
        self.receiveBufferSize = granted
    }

    /// Drains the pending notifications without blocking and returns them in
    /// order. `.overflow` among them means some were lost (ENOBUFS).
    public func receive() throws(FastPathError) -> [ConntrackEvent] {
        var result: [ConntrackEvent] = []
        try receive { result.append($0) }
        return result
    }

    /// Drains the pending notifications without blocking (at most
    /// `maximumDatagramsPerReceive` datagrams), handing each to `handle` as
    /// it is parsed.
    public func receive(_ handle: (ConntrackEvent) -> Void) throws(FastPathError) {
        let failure = sink.delivering(to: handle) { () -> FastPathError? in
            events.drain(limit: maximumDatagramsPerReceive, what: "conntrack events") { sink.emit(.overflow) }
        }
        if let failure { throw failure }
    }

    /// Dumps the conntrack table (IPv4 and IPv6, every zone) and returns it.
    public func dumpAll() throws(FastPathError) -> [ConntrackEntry] {
        var result: [ConntrackEntry] = []
        try dumpAll { result.append($0) }
        return result
    }

    /// Dumps the conntrack table (IPv4 and IPv6 in one `AF_UNSPEC` request),
    /// handing each entry to `handle` as it is parsed: nothing but the
    /// current message is held. Blocks until the kernel has sent everything.
    /// An interrupted dump is repeated, so an entry may be seen twice.
    public func dumpAll(_ handle: (ConntrackEntry) -> Void) throws(FastPathError) {
        let failure = sink.delivering(to: { event in
            switch event {
            case .new(let entry), .update(let entry): handle(entry)
            case .destroy, .overflow: break
            }
        }) { () -> FastPathError? in
            var attempt = 0
            while true {
                attempt += 1
                // Returns the number of bytes sent (a libnl quirk): only < 0 fails.
                var rc = nfnl_ct_dump_request(dumps.handle)
                if rc >= 0 { rc = nl_recvmsgs_default(dumps.handle) }
                if rc >= 0 { return nil }
                if rc == -NLE_DUMP_INTR && attempt < 5 { continue }
                return FastPathError("dump conntrack table", code: .netlink(-rc),
                                     hint: rc == -NLE_OBJ_NOTFOUND || rc == -NLE_OPNOTSUPP
                                         ? "is nf_conntrack_netlink loaded?" : nil)
            }
        }
        if let failure { throw failure }
    }
}

// MARK: - The thin layer: ctnetlink message parsing and nfnl_ct conversion

/// Turns ctnetlink messages into `ConntrackEvent`s and hands them to the
/// closure of the current `receive`/`dumpAll` call.
final class ConntrackEventSink {
    private var deliver: ((ConntrackEvent) -> Void)?

    /// Routes every valid message on `socket` to this sink (passed unretained:
    /// the sink must outlive the socket).
    func attach(to socket: NetlinkSocket) {
        nl_socket_modify_cb(socket.handle, NL_CB_VALID, NL_CB_CUSTOM, { message, argument in
            guard let message, let argument, let header = nlmsg_hdr(message) else { return Int32(NL_SKIP.rawValue) }
            Unmanaged<ConntrackEventSink>.fromOpaque(argument).takeUnretainedValue().take(header)
            return Int32(NL_OK.rawValue)
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Runs `body` with events going to `handle`.
    func delivering(to handle: (ConntrackEvent) -> Void, _ body: () -> FastPathError?) -> FastPathError? {
        withoutActuallyEscaping(handle) { escapable -> FastPathError? in
            deliver = escapable
            defer { deliver = nil }
            return body()
        }
    }

    func emit(_ event: ConntrackEvent) {
        deliver?(event)
    }

    /// One ctnetlink message. `IPCTNL_MSG_CT_NEW` with NLM_F_CREATE or
    /// NLM_F_EXCL is a new entry (that is how the kernel marks NEW events;
    /// dump entries come as plain NEW messages and are reported as
    /// `.update`, which `dumpAll` unwraps); `IPCTNL_MSG_CT_DELETE` is a destroy.
    private func take(_ header: UnsafeMutablePointer<nlmsghdr>) {
        guard Int32(nfnlmsg_subsys(header)) == NFNL_SUBSYS_CTNETLINK else { return }
        let subtype = UInt32(nfnlmsg_subtype(header))
        guard subtype == IPCTNL_MSG_CT_NEW.rawValue || subtype == IPCTNL_MSG_CT_DELETE.rawValue else { return }
        var parsed: OpaquePointer?
        guard nfnlmsg_ct_parse(header, &parsed) >= 0, let parsed else { return }
        defer { nfnl_ct_put(parsed) }
        guard let entry = conntrackEntry(parsed) else { return }
        if subtype == IPCTNL_MSG_CT_DELETE.rawValue {
            emit(.destroy(entry))
        } else if Int32(header.pointee.nlmsg_flags) & (NLM_F_CREATE | NLM_F_EXCL) != 0 {
            emit(.new(entry))
        } else {
            emit(.update(entry))
        }
    }
}

/// An `nfnl_ct` as a value; nil for families other than IPv4/IPv6.
func conntrackEntry(_ ct: OpaquePointer) -> ConntrackEntry? {
    guard let family = KernelEventSink.familyNumber(Int32(nfnl_ct_get_family(ct))) else { return nil }
    let proto = nfnl_ct_test_proto(ct) != 0 ? nfnl_ct_get_proto(ct) : 0
    return ConntrackEntry(
        original: conntrackTuple(ct, reply: false, family: family, proto: proto),
        reply: conntrackTuple(ct, reply: true, family: family, proto: proto),
        status: nfnl_ct_test_status(ct) != 0 ? nfnl_ct_get_status(ct) : 0,
        tcpState: nfnl_ct_test_tcp_state(ct) != 0 ? nfnl_ct_get_tcp_state(ct) : nil,
        timeout: nfnl_ct_test_timeout(ct) != 0 ? nfnl_ct_get_timeout(ct) : 0,
        mark: nfnl_ct_test_mark(ct) != 0 ? nfnl_ct_get_mark(ct) : 0,
        zone: nfnl_ct_test_zone(ct) != 0 ? nfnl_ct_get_zone(ct) : 0,
        id: nfnl_ct_test_id(ct) != 0 ? nfnl_ct_get_id(ct) : 0)
}

/// One direction of an `nfnl_ct` (libnl already gives ports in host order).
private func conntrackTuple(_ ct: OpaquePointer, reply: Bool, family: UInt8, proto: UInt8) -> ConntrackTuple {
    let direction: Int32 = reply ? 1 : 0
    var tuple = ConntrackTuple(family: family, proto: proto,
                               source: KernelEventSink.bytes(nfnl_ct_get_src(ct, direction)),
                               destination: KernelEventSink.bytes(nfnl_ct_get_dst(ct, direction)),
                               sourcePort: 0, destinationPort: 0)
    if tuple.isICMP {
        if nfnl_ct_test_icmp_id(ct, direction) != 0 { tuple.sourcePort = nfnl_ct_get_icmp_id(ct, direction) }
        let type = nfnl_ct_test_icmp_type(ct, direction) != 0 ? UInt16(nfnl_ct_get_icmp_type(ct, direction)) : 0
        let code = nfnl_ct_test_icmp_code(ct, direction) != 0 ? UInt16(nfnl_ct_get_icmp_code(ct, direction)) : 0
        tuple.destinationPort = type << 8 | code
    } else {
        if nfnl_ct_test_src_port(ct, direction) != 0 { tuple.sourcePort = nfnl_ct_get_src_port(ct, direction) }
        if nfnl_ct_test_dst_port(ct, direction) != 0 { tuple.destinationPort = nfnl_ct_get_dst_port(ct, direction) }
    }
    return tuple
}
