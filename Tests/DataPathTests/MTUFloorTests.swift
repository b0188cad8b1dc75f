import XCTest
import FastPathCore

/// `fp_config.mtu_floor`, the smallest route MTU (bpf_fib_lookup ignores an
/// unlocked one): a packet longer than it goes to the kernel as
/// `frag_needed`, in XDP and TC, whatever its flow's cached next hop says;
/// for a GSO aggregate in TC the length of one segment counts.
final class MTUFloorTests: RouterTestRunFixture {
    /// A UDP frame of the mirrored flow: IPv4 128 bytes long, IPv6 148.
    func testOnlyPacketsLongerThanTheFloorArePassed() throws {
        for family in [TestFrame.Family.ipv4, .ipv6] {
            let frame = outbound(tcp: nil, family: family)
            try mirror(frame)
            let length = UInt32(frame.ipHeader.count + frame.udp.count)
            try dataPath.setRouteMTUFloor(length)
            try assertForwarded(frame.bytes, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
            // The flow's next hop is cached now, approved for this length.
            try dataPath.setRouteMTUFloor(length - 1)
            try assertPassed(frame.bytes, "frag_needed")
            try dataPath.setRouteMTUFloor(0)
            try assertForwarded(frame.bytes, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
        }
    }

    func testPolicyRoutingChecksTheFloorToo() throws {
        try setFlags(lan: .policyRouting)
        var frame = outbound(tcp: nil)
        frame.payload = Array(repeating: 7, count: 1000)
        try dataPath.setRouteMTUFloor(1028)
        try assertForwarded(frame.bytes, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
        try dataPath.setRouteMTUFloor(1027)
        try assertPassed(frame.bytes, "frag_needed")
    }

    /// A 2040-byte TCP aggregate of 1000-byte segments: each leaves as a
    /// 1040-byte packet, so a floor of 1040 lets it through and 1039 does not.
    func testTCChecksTheSegmentLengthOfAGSOAggregate() throws {
        try setFlags(lan: .policyRouting)
        var frame = outbound()
        frame.payload = Array(repeating: 9, count: 2000)
        let gso = (segments: UInt32(2), size: UInt32(1000))
        try dataPath.setRouteMTUFloor(1040)
        try assertForwarded(frame.bytes, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC), programs: [.tc], gso: gso)
        try dataPath.setRouteMTUFloor(1039)
        try assertPassed(frame.bytes, "frag_needed", programs: [.tc], gso: gso)
        // Not an aggregate: its own length, 2040, is what counts.
        try dataPath.setRouteMTUFloor(2039)
        try assertPassed(frame.bytes, "frag_needed", programs: [.tc])
    }
}
