import CFastPathShim
import CNetlink
import FastPathCore

/// Reads devices' XDP features through generic netlink (`NETDEV_CMD_DEV_GET`)
/// on one socket, with the "netdev" family id resolved once.
///
/// veth (measured on 6.18): both ends report basic, redirect and rx-sg;
/// an end reports ndo-xmit (and ndo-xmit-sg) only while its *peer* has an
/// XDP program attached or GRO enabled (`ethtool -K PEER gro on`) and the
/// pair is up: frames redirected into a veth are received by the peer's
/// NAPI, which exists only then. A veth whose peer has neither is no devmap
/// target (redirects into it are counted and silently lost). The bit
/// follows the peer's state at once, so probe when deciding, don't cache.
/// Loopback reports no bits; an unknown ifindex fails with NLE_NODEV.
public final class XDPFeatureProbe {
    private let socket: NetlinkSocket
    /// The "netdev" family id; nil when the kernel has no such family (< 6.3).
    private let family: Int32?

    /// Opens the socket in the calling thread's namespace and resolves the family.
    public init() throws(FastPathError) {
        let socket = try NetlinkSocket(protocol: NETLINK_GENERIC, purpose: "generic netlink (netdev)")
        let id = genl_ctrl_resolve(socket.handle, FP_NETDEV_FAMILY_NAME)
        if id >= 0 {
            family = id
        } else if id == -NLE_OBJ_NOTFOUND {
            family = nil
        } else {
            throw FastPathError("resolve generic netlink family \"netdev\"", code: .netlink(-id))
        }
        // DEV_GET answers with one message (or an error): no ACK to wait for,
        // and without auto-ACK libnl skips its sequence check.
        nl_socket_disable_auto_ack(socket.handle)
        self.socket = socket
    }

    /// True when the kernel reports XDP features (has the "netdev" family).
    public var isSupported: Bool { family != nil }

    /// The XDP features of device `ifindex` (in the probe's namespace); nil
    /// when the kernel cannot tell (no "netdev" family, Linux < 6.3).
    public func features(ifindex: UInt32) throws(FastPathError) -> XDPFeatureSet? {
        guard let family else { return nil }
        guard let message = nlmsg_alloc() else {
            throw FastPathError("allocate netdev request", code: .netlink(NLE_NOMEM))
        }
        defer { nlmsg_free(message) }
        guard genlmsg_put(message, UInt32(NL_AUTO_PORT), UInt32(NL_AUTO_SEQ), family, 0, 0,
                          UInt8(FP_NETDEV_CMD_DEV_GET), 1) != nil else {
            throw FastPathError("build netdev request", code: .netlink(NLE_NOMEM))
        }
        try netlinkCheck(nla_put_u32(message, FP_NETDEV_A_DEV_IFINDEX, ifindex), "build netdev request")

        let reply = XDPFeatureReply()
        let callbacks = nl_cb_alloc(NL_CB_DEFAULT)
        guard let callbacks else { throw FastPathError("allocate netlink callbacks", code: .netlink(NLE_NOMEM)) }
        defer { nl_cb_put(callbacks) }
        nl_cb_set(callbacks, NL_CB_VALID, NL_CB_CUSTOM, { message, argument in
            guard let message, let argument else { return Int32(NL_SKIP.rawValue) }
            let reply = Unmanaged<XDPFeatureReply>.fromOpaque(argument).takeUnretainedValue()
            let header = nlmsg_data(nlmsg_hdr(message)).assumingMemoryBound(to: genlmsghdr.self)
            let attributes = genlmsg_attrdata(header, 0)
            let length = genlmsg_attrlen(header, 0)
            reply.received = true
            if let attribute = nla_find(attributes, length, FP_NETDEV_A_DEV_XDP_FEATURES) {
                reply.features = nla_get_u64(attribute)
            }
            return Int32(NL_OK.rawValue)
        }, Unmanaged.passUnretained(reply).toOpaque())

        let subject = interfaceLabel(ifindex)
        let sent = nl_send_auto(socket.handle, message)
        try netlinkCheck(sent, "send netdev DEV_GET", subject: subject)
        let rc = withExtendedLifetime(reply) { nl_recvmsgs(socket.handle, callbacks) }
        try netlinkCheck(rc, "read XDP features", subject: subject)
        guard reply.received else {
            throw FastPathError("read XDP features", code: .none, subject: subject, hint: "no reply from netdev family")
        }
        // A device without XDP support has no bits set (attribute 0 or absent).
        return XDPFeatureSet(netdev: reply.features)
    }
}

/// The reply state the C callback fills (through its `void *` argument).
private final class XDPFeatureReply {
    var received = false
    var features: UInt64 = 0
}
