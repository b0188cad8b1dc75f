import XCTest
import FastPathCore

/// Policy conntrack: the route lookup of a mirrored flow asks what the
/// kernel asked when it routed the flow: the source before source NAT, the
/// destination and port after destination NAT, the protocol and ports, and
/// the mark. Each case puts an `ip rule` in the router that sends exactly
/// that question to table 100, whose blackhole the fast path must then
/// report instead of forwarding by the main table.
final class FlowLookupTests: RouterTestRunFixture {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try router("ip", "route", "add", "blackhole", "198.51.100.0/24", "table", "100")
        try router("ip", "route", "add", "blackhole", "192.0.2.0/24", "table", "100")
    }

    /// The kernel routes before it masquerades: a rule on h1's address
    /// applies, one on the router's (the translated source) does not.
    func testTheLookupUsesTheSourceBeforeSourceNAT() throws {
        let frame = outbound(tcp: nil)
        try mirror(frame, rewrite: masquerade)
        try router("ip", "rule", "add", "from", NamespaceLab.h1IPv4, "lookup", "100")
        try assertPassed(frame.bytes, "blackhole")
        try router("ip", "rule", "del", "from", NamespaceLab.h1IPv4, "lookup", "100")
        try router("ip", "rule", "add", "from", NamespaceLab.wanIPv4, "lookup", "100")
        try assertForwarded(frame.bytes, expected: masqueraded(frame).forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
    }

    /// A port rule needs the protocol and both ports in the lookup: it
    /// takes the UDP flow to 5001 and the TCP one from 40000, and neither
    /// the TCP flow to 5001 nor the UDP one to 5002.
    func testPortRulesSeeTheProtocolAndPorts() throws {
        let udp = outbound(tcp: nil), tcp = outbound()
        var other = udp
        other.destinationPort = 5002
        for frame in [udp, tcp, other] { try mirror(frame) }
        try router("ip", "rule", "add", "ipproto", "udp", "dport", "5001", "lookup", "100")
        try assertPassed(udp.bytes, "blackhole")
        try assertForwarded(tcp.bytes, expected: tcp.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
        try assertForwarded(other.bytes, expected: other.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
        try router("ip", "rule", "add", "ipproto", "tcp", "sport", "40000", "lookup", "100")
        try dataPath.bumpFIBGeneration() // the TCP flow's next hop is cached from before the rule
        try assertPassed(tcp.bytes, "blackhole")
    }

    /// The reply of a masqueraded flow (h2:5001 → router:61000) is routed
    /// after the kernel translated it back to h1:40000: a rule on port
    /// 40000 applies to it.
    func testTheLookupUsesTheDestinationPortAfterDestinationNAT() throws {
        let reply = masqueradeReply(tcp: nil)
        try dataPath.addFlow(key(of: reply, ingress: wanIndex),
                             rewrite: FlowRewrite(destination: .init(address: ipv4(NamespaceLab.h1IPv4), port: 40000)))
        try router("ip", "rule", "add", "ipproto", "udp", "dport", "61000", "lookup", "100")
        var translated = reply
        translated.dst = ipv4(NamespaceLab.h1IPv4)
        translated.destinationPort = 40000
        try assertForwarded(reply.bytes, expected: translated.forwarded(dstMAC: h1MAC, srcMAC: lanMAC), ingress: wanIndex)
        try router("ip", "rule", "add", "ipproto", "udp", "dport", "40000", "lookup", "100")
        try dataPath.bumpFIBGeneration()
        try assertPassed(reply.bytes, "blackhole", ingress: wanIndex)
    }

    /// A flow the kernel routed with a mark is looked up with it (where
    /// the kernel has BPF_FIB_LOOKUP_MARK; elsewhere the manager keeps
    /// marked flows in the kernel): a fwmark rule applies to it and to no
    /// unmarked flow.
    func testTheLookupCarriesTheFlowsMark() throws {
        let frame = outbound(tcp: nil)
        try router("ip", "rule", "add", "fwmark", "0x100", "lookup", "100")
        try mirror(frame)
        try assertForwarded(frame.bytes, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
        try XCTSkipIf(dataPath.capabilities.isOff(.fibMark),
                      "kernel \(dataPath.capabilities.kernelRelease) has no BPF_FIB_LOOKUP_MARK")
        try dataPath.removeFlow(key(of: frame, ingress: lanIndex))
        try mirror(frame, mark: 0x200)
        try assertForwarded(frame.bytes, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
        try dataPath.removeFlow(key(of: frame, ingress: lanIndex))
        try mirror(frame, mark: 0x100)
        try assertPassed(frame.bytes, "blackhole")
    }
}
