import FastPathCore
import LabSupport

/// The frames and flow keys of the lab's h1 → r → h2 flow, shared by the
/// test classes that run policy conntrack frames through the router's
/// programs (`RouterTestRunFixture` and its subclasses).
protocol RouterFrames {
    var lanMAC: MAC { get }
    var wanMAC: MAC { get }
    var h1MAC: MAC { get }
    var h2MAC: MAC { get }
    var routerWAN: [UInt8] { get }
}

extension RouterFrames {
    /// h1:40000 → h2:5001 as it arrives on lan0: a TCP segment with `tcp`
    /// flags (UDP with nil) and 100 bytes of payload.
    func outbound(tcp: UInt8? = 0x10, family: TestFrame.Family = .ipv4) -> TestFrame {
        var frame = TestFrame(dstMAC: lanMAC, srcMAC: h1MAC, family: family,
                              src: family == .ipv4 ? ipv4(NamespaceLab.h1IPv4) : ipv6(NamespaceLab.h1IPv6),
                              dst: family == .ipv4 ? ipv4(NamespaceLab.h2IPv4) : ipv6(NamespaceLab.h2IPv6))
        frame.tcpFlags = tcp
        frame.payload = Array(repeating: 0x42, count: 100)
        return frame
    }

    /// The masquerade's reply as it arrives on wan0: h2:5001 → router:61000.
    func masqueradeReply(tcp: UInt8? = 0x10) -> TestFrame {
        var reply = outbound(tcp: tcp)
        reply.dstMAC = wanMAC
        reply.srcMAC = h2MAC
        reply.src = ipv4(NamespaceLab.h2IPv4)
        reply.dst = routerWAN
        reply.sourcePort = 5001
        reply.destinationPort = 61000
        return reply
    }

    /// Masquerade: the source becomes the router's WAN address, port 61000.
    var masquerade: FlowRewrite { FlowRewrite(source: .init(address: routerWAN, port: 61000)) }

    func masqueraded(_ frame: TestFrame) -> TestFrame {
        var translated = frame
        translated.src = routerWAN
        translated.sourcePort = 61000
        return translated
    }

    func key(of frame: TestFrame, ingress: UInt32) -> FlowKey {
        FlowKey(ConntrackTuple(family: frame.family == .ipv4 ? 4 : 6, proto: frame.protocolNumber, source: frame.src,
                               destination: frame.dst, sourcePort: frame.sourcePort, destinationPort: frame.destinationPort),
                ingress: ingress)
    }
}
