import XCTest
import FastPathCore

/// Policy routing, IPv4: the source checks the kernel makes before it
/// forwards. The router's own addresses are martian sources; with the
/// interface's rp_filter repeated in its entry, the source must route back
/// out of the ingress (strict) or be routable as unicast at all (loose).
/// Frames arrive on lan0 for h2; the sources are what differs.
final class SourceCheckTests: RouterTestRunFixture {
    let routing = InterfaceFlags.policyRouting

    /// h1's frame to h2 with `source` instead of h1's address.
    func from(_ source: String) -> TestFrame {
        var frame = outbound(tcp: nil)
        frame.src = ipv4(source)
        return frame
    }

    func assertForwardedToH2(_ frame: TestFrame, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertForwarded(frame.bytes, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC), file: file, line: line)
    }

    /// 198.51.100.9 routes back out of wan0, not lan0 where it arrived.
    func testStrictReversePathNeedsTheSourceToRouteBackOutOfTheIngress() throws {
        let spoofed = from("198.51.100.9")
        try setFlags(lan: [routing, .reversePathStrict])
        try assertPassed(spoofed.bytes, "martian")
        try assertForwardedToH2(from(NamespaceLab.h1IPv4))
        try setFlags(lan: [routing, .reversePathLoose])
        try assertForwardedToH2(spoofed)
        try setFlags(lan: routing)
        try assertForwardedToH2(spoofed)
    }

    /// The way back is asked with the protocol and the ports swapped, as
    /// the kernel asks it: a port rule can send it out of another interface.
    func testStrictReversePathFollowsPortRules() throws {
        let frame = from(NamespaceLab.h1IPv4)
        try router("ip", "route", "add", "192.0.2.0/24", "dev", "wan0", "table", "101")
        try router("ip", "rule", "add", "ipproto", "udp", "sport", "\(frame.destinationPort)", "lookup", "101")
        try setFlags(lan: [routing, .reversePathStrict])
        try assertPassed(frame.bytes, "martian")
        try router("ip", "rule", "del", "ipproto", "udp", "sport", "\(frame.destinationPort)", "lookup", "101")
        try router("ip", "rule", "add", "ipproto", "udp", "dport", "\(frame.destinationPort)", "lookup", "101")
        try assertForwardedToH2(frame)
    }

    /// Loose: any route back will do, but it must be unicast: a subnet
    /// broadcast, a source with no route and one routed into a blackhole
    /// are martians (and are forwarded without rp_filter, as the kernel does).
    func testLooseReversePathNeedsAUnicastRouteBack() throws {
        try router("ip", "route", "add", "blackhole", "203.0.113.128/25")
        let martians = ["192.0.2.255", "203.0.113.9", "203.0.113.200"]
        try setFlags(lan: [routing, .reversePathLoose])
        for source in martians {
            try assertPassed(from(source).bytes, "martian")
        }
        try setFlags(lan: [routing, .reversePathStrict])
        for source in martians {
            try assertPassed(from(source).bytes, "martian")
        }
        try setFlags(lan: routing)
        for source in martians {
            try assertForwardedToH2(from(source))
        }
    }

    /// The router's own address as a source is a martian with or without
    /// rp_filter, on whichever interface the address is; the programs know
    /// the addresses from fp_local_addrs.
    func testTheRoutersOwnAddressIsAMartianSource() throws {
        try setFlags(lan: routing)
        try assertForwardedToH2(from(NamespaceLab.lanIPv4))
        try dataPath.addLocalAddress(ipv4(NamespaceLab.lanIPv4), ifindex: lanIndex)
        try dataPath.addLocalAddress(ipv4(NamespaceLab.wanIPv4), ifindex: wanIndex)
        try assertPassed(from(NamespaceLab.lanIPv4).bytes, "martian")
        try assertPassed(from(NamespaceLab.wanIPv4).bytes, "martian")
        try setFlags(lan: [routing, .reversePathLoose])
        try assertPassed(from(NamespaceLab.lanIPv4).bytes, "martian")
        try assertForwardedToH2(from(NamespaceLab.h1IPv4))
    }
}
