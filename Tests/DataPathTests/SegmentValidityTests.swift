import XCTest
import FastPathCore

/// Policy conntrack: a packet of a mirrored flow is carried only if
/// conntrack would call its TCP or UDP header valid (the firewall drops
/// invalid ones); SYN, FIN and RST go to conntrack. Each case runs through
/// XDP and TC on a flow that is mirrored, so that only the header check
/// stands between the frame and the fast path.
final class SegmentValidityTests: RouterTestRunFixture {
    /// IPv4 TCP: flags at 47, data offset at 46; IPv6: 67 and 66.
    func tcpHeaderOffset(_ frame: TestFrame) -> Int { frame.family == .ipv4 ? 34 : 54 }

    /// `frame` with its TCP data offset set to `words`, `padding` bytes
    /// after the IP packet, and its checksum redone.
    func withDataOffset(_ frame: TestFrame, _ words: UInt8, padding: Int = 0) -> [UInt8] {
        var bytes = frame.bytes
        bytes[tcpHeaderOffset(frame) + 12] = words << 4
        return withL4ChecksumRecomputed(bytes) + [UInt8](repeating: 0, count: padding)
    }

    func testTCPWithoutACKIsMalformed() throws {
        for family in [TestFrame.Family.ipv4, .ipv6] {
            try mirror(outbound(family: family))
            for flags: UInt8 in [0x00, 0x20 /* URG */, 0x08 /* PSH */, 0x28 /* PSH|URG */, 0xc0 /* ECE|CWR */,
                                 0xe8 /* all but ACK, SYN, FIN, RST */] {
                try assertPassed(outbound(tcp: flags, family: family).bytes, "malformed")
            }
        }
    }

    /// Any SYN, FIN or RST, valid combination or not, is conntrack's to see.
    func testTCPWithSYNFINOrRSTIsControl() throws {
        try mirror(outbound())
        for flags: UInt8 in [0x03 /* SYN|FIN */, 0x13 /* SYN|FIN|ACK */, 0x12 /* SYN|ACK */, 0x06 /* SYN|RST */,
                             0x29 /* FIN|PSH|URG */, 0x01 /* FIN */, 0xff] {
            try assertPassed(outbound(tcp: flags).bytes, "tcp_control")
        }
    }

    /// ACK, optionally with URG, and PSH, ECE, CWR on top: forwarded.
    func testTCPWithACKAndAllowedFlagsIsForwarded() throws {
        try mirror(outbound())
        for flags: UInt8 in [0x58 /* ACK|PSH|ECE */, 0x10, 0x30 /* ACK|URG */, 0xf8 /* ACK|PSH|URG|ECE|CWR */] {
            let frame = outbound(tcp: flags)
            try assertForwarded(frame.bytes, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
        }
    }

    func testTCPDataOffsetBelowFiveIsMalformed() throws {
        for family in [TestFrame.Family.ipv4, .ipv6] {
            let frame = outbound(family: family)
            try mirror(frame)
            for words: UInt8 in [4, 0] {
                try assertPassed(withDataOffset(frame, words), "malformed")
            }
        }
    }

    /// A data offset reaching past the IP packet's end is malformed even
    /// when the frame has the bytes (Ethernet padding); one that stays
    /// inside (options) is fine.
    func testTCPHeaderBeyondTheIPLengthIsMalformed() throws {
        for family in [TestFrame.Family.ipv4, .ipv6] {
            var frame = outbound(family: family)
            try mirror(frame)
            frame.payload = []
            try assertPassed(withDataOffset(frame, 6, padding: 8), "malformed")
            try assertPassed(withDataOffset(frame, 15, padding: 40), "malformed")
            frame.payload = Array(repeating: 1, count: 40) // 4 bytes of NOPs and a rest
            let options = withDataOffset(frame, 6)
            try assertForwarded(options, expected: routedToH2(options))
        }
    }

    /// IPv4 UDP: length field at 38.
    func withUDPLength(_ frame: TestFrame, _ length: Int) -> [UInt8] {
        var bytes = frame.bytes
        let at = frame.family == .ipv4 ? 38 : 58
        bytes[at] = UInt8(length >> 8); bytes[at + 1] = UInt8(length & 0xff)
        return withL4ChecksumRecomputed(bytes)
    }

    func testUDPLengthBelowTheHeaderOrBeyondTheIPPayloadIsMalformed() throws {
        for family in [TestFrame.Family.ipv4, .ipv6] {
            let frame = outbound(tcp: nil, family: family)
            try mirror(frame)
            let length = 8 + frame.payload.count
            for bad in [0, 7, length + 1, 0xffff] {
                try assertPassed(withUDPLength(frame, bad), "malformed")
            }
            // Shorter than the IP payload is valid (the kernel trims the rest).
            let short = withUDPLength(frame, length - 4)
            try assertForwarded(short, expected: routedToH2(short))
            try assertForwarded(withUDPLength(frame, 8), expected: routedToH2(withUDPLength(frame, 8)))
        }
    }

    /// An IP packet that ends inside the UDP header: the rest of the frame is padding.
    func testUDPHeaderBeyondTheIPLengthIsMalformed() throws {
        let frame = outbound(tcp: nil)
        try mirror(frame)
        for total in [20 + 4, 20 + 7] {
            try assertPassed(withIPv4TotalLength(frame.bytes, total), "malformed")
        }
        // The header exactly to the IP packet's end: a valid empty datagram.
        var empty = frame
        empty.payload = []
        try assertForwarded(empty.bytes, expected: empty.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
    }
}
