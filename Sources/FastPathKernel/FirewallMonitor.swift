import CFastPathShim
import CNetlink

/// Tells the daemon when the nftables ruleset changes: every committed
/// nf_tables transaction (`nft -f`, an fw4 reload, a rule added by hand, a
/// set element added from user space) ends with an `NFT_MSG_NEWGEN`
/// notification on NFNLGRP_NFTABLES, carrying the new generation id.
/// Elements that rules add to sets from the data path are not notified, so
/// busy dynamic sets cost nothing here. iptables-legacy rules live outside
/// nf_tables and are not seen.
///
/// Two `NETLINK_NETFILTER` sockets in the namespace of the thread that
/// creates the monitor: a non-blocking one for the notifications, and one
/// for `NFT_MSG_GETGEN` requests. Nothing is parsed beyond the generation.
public final class FirewallMonitor: Pollable {
    private let events: NetlinkSocket
    private let queries: NetlinkSocket
    private let watcher = GenerationWatcher()

    /// The event socket: readable when notifications are pending.
    public var pollDescriptor: PollDescriptor { PollDescriptor(events.fileDescriptor) }

    public init() throws(FastPathError) {
        let events = try NetlinkSocket.subscribed(protocol: NETLINK_NETFILTER, groups: [NFNLGRP_NFTABLES.rawValue],
                                                  purpose: "nftables events")
        let queries = try NetlinkSocket(protocol: NETLINK_NETFILTER, purpose: "nftables generation")
        watcher.attach(to: events)
        watcher.attach(to: queries)
        self.events = events
        self.queries = queries
    }

    /// The ruleset's current generation id (`NFT_MSG_GETGEN`).
    public func currentGeneration() throws(FastPathError) -> UInt32 {
        watcher.latest = nil
        let sent = nfnl_send_simple(queries.handle, UInt8(NFNL_SUBSYS_NFTABLES), UInt8(NFT_MSG_GETGEN.rawValue),
                                    0, UInt8(AF_UNSPEC), 0)
        try netlinkCheck(sent < 0 ? sent : nl_recvmsgs_default(queries.handle), "read the nftables generation",
                         subject: nil)
        guard let generation = watcher.latest else {
            throw FastPathError("read the nftables generation", code: .netlink(NLE_MSG_TRUNC),
                                hint: "is nf_tables loaded?")
        }
        return generation
    }

    /// Drains the pending notifications without blocking. `changed` when a
    /// ruleset transaction was committed since the last call, or when
    /// notifications were lost (which may have hidden one); `generation` is
    /// the newest id seen, if any.
    public func receiveRulesetChanges() throws(FastPathError) -> (changed: Bool, generation: UInt32?) {
        watcher.generations = 0
        watcher.latest = nil
        var overflowed = false
        if let failure = events.drain(limit: 256, what: "nftables events", overflow: { overflowed = true }) {
            throw failure
        }
        return (overflowed || watcher.generations > 0, overflowed ? nil : watcher.latest)
    }
}

/// Reads `NFT_MSG_NEWGEN` messages (the end of a committed transaction, and
/// the answer to GETGEN).
private final class GenerationWatcher {
    var generations = 0
    var latest: UInt32?

    /// Passed unretained: the watcher must outlive the socket.
    func attach(to socket: NetlinkSocket) {
        nl_socket_modify_cb(socket.handle, NL_CB_VALID, NL_CB_CUSTOM, { message, argument in
            guard let message, let argument, let header = nlmsg_hdr(message) else { return Int32(NL_SKIP.rawValue) }
            guard Int32(nfnlmsg_subsys(header)) == NFNL_SUBSYS_NFTABLES,
                  UInt32(nfnlmsg_subtype(header)) == NFT_MSG_NEWGEN.rawValue else { return Int32(NL_OK.rawValue) }
            let watcher = Unmanaged<GenerationWatcher>.fromOpaque(argument).takeUnretainedValue()
            watcher.generations += 1
            // The id as sent (big endian): compared, never interpreted.
            if let attribute = nlmsg_find_attr(header, Int32(MemoryLayout<nfgenmsg>.size), Int32(NFTA_GEN_ID.rawValue)) {
                watcher.latest = nla_get_u32(attribute)
            }
            return Int32(NL_OK.rawValue)
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}
