import CFastPathShim
import CNetlink

/// Tells the daemon when the nftables ruleset changes: every committed
/// nf_tables transaction (`nft -f`, an fw4 reload, a rule added by hand, a
/// set element added from user space) ends with an `NFT_MSG_NEWGEN`
/// notification on NFNLGRP_NFTABLES. Elements that rules add to sets from
/// the data path are not notified, so busy dynamic sets cost nothing here.
/// iptables-legacy rules live outside nf_tables and are not seen.
///
/// One non-blocking `NETLINK_NETFILTER` socket in the namespace of the
/// thread that creates the monitor; nothing is parsed beyond the message
/// header.
public final class FirewallMonitor {
    private let events: NetlinkSocket
    private let counter = GenerationCounter()

    /// The socket's descriptor, for `poll` (`POLLIN`).
    public var fileDescriptor: Int32 { events.fileDescriptor }

    public init() throws(FastPathError) {
        let events = try NetlinkSocket(protocol: NETLINK_NETFILTER, purpose: "nftables events")
        nl_socket_disable_seq_check(events.handle)
        try netlinkCheck(nl_socket_set_nonblocking(events.handle), "make nftables event socket non-blocking")
        try netlinkCheck(nl_socket_add_membership(events.handle, Int32(NFNLGRP_NFTABLES.rawValue)),
                         "join nftables multicast group", subject: nil)
        counter.attach(to: events)
        self.events = events
    }

    /// Drains the pending notifications without blocking. True when a
    /// ruleset transaction was committed since the last call, or when
    /// notifications were lost (which may have hidden one).
    public func receiveRulesetChanged() throws(FastPathError) -> Bool {
        counter.generations = 0
        var overflowed = false
        if let failure = events.drain(limit: 256, what: "nftables events", overflow: { overflowed = true }) {
            throw failure
        }
        return overflowed || counter.generations > 0
    }
}

/// Counts `NFT_MSG_NEWGEN` messages (the end of a committed transaction).
private final class GenerationCounter {
    var generations = 0

    /// Passed unretained: the counter must outlive the socket.
    func attach(to socket: NetlinkSocket) {
        nl_socket_modify_cb(socket.handle, NL_CB_VALID, NL_CB_CUSTOM, { message, argument in
            guard let message, let argument, let header = nlmsg_hdr(message) else { return Int32(NL_SKIP.rawValue) }
            if Int32(nfnlmsg_subsys(header)) == NFNL_SUBSYS_NFTABLES
                && UInt32(nfnlmsg_subtype(header)) == NFT_MSG_NEWGEN.rawValue {
                Unmanaged<GenerationCounter>.fromOpaque(argument).takeUnretainedValue().generations += 1
            }
            return Int32(NL_OK.rawValue)
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}
