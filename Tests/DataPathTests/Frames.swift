import Foundation

// Builds test frames byte by byte, independently of the BPF code, and
// computes what a correct forwarder must turn them into.

typealias MAC = [UInt8]

/// RFC 1071 Internet checksum over `bytes` (with the checksum field zeroed by the caller).
func internetChecksum<C: Collection>(_ bytes: C, initial: UInt32 = 0) -> UInt16 where C.Element == UInt8 {
    var sum = initial
    var iterator = bytes.makeIterator()
    while let hi = iterator.next() {
        let lo = iterator.next() ?? 0
        sum += UInt32(hi) << 8 | UInt32(lo)
    }
    while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
    return ~UInt16(sum)
}

func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }

func parseMAC(_ text: String) -> MAC {
    text.split(separator: ":").map { UInt8($0, radix: 16)! }
}

func ipv4(_ text: String) -> [UInt8] {
    text.split(separator: ".").map { UInt8($0)! }
}

/// Parses a full or `::`-compressed IPv6 address (no embedded IPv4).
func ipv6(_ text: String) -> [UInt8] {
    let halves = text.components(separatedBy: "::")
    func groups(_ s: String) -> [UInt16] { s.isEmpty ? [] : s.split(separator: ":").map { UInt16($0, radix: 16)! } }
    let head = groups(halves[0])
    let tail = halves.count > 1 ? groups(halves[1]) : []
    let all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    return all.flatMap { be16($0) }
}

struct VLANTag {
    var proto: UInt16 = 0x8100
    var vid: UInt16
}

/// One test frame: Ethernet (optionally tagged), IPv4 or IPv6, UDP.
struct TestFrame {
    var dstMAC: MAC
    var srcMAC: MAC
    var vlan: VLANTag? = nil
    var family: Family = .ipv4
    var src: [UInt8]
    var dst: [UInt8]
    var ttl: UInt8 = 64
    var ipv4Options: [UInt8] = []
    var fragmentField: UInt16 = 0x4000 // DF, no offset
    var ipv6NextHeader: UInt8 = 17
    var l4Protocol: UInt8 = 17
    var payload: [UInt8] = Array("fastpath test payload".utf8)
    var sourcePort: UInt16 = 40000
    var destinationPort: UInt16 = 5001
    /// TCP instead of UDP, with these flags (0x10 = ACK).
    var tcpFlags: UInt8? = nil
    /// IPv4 UDP sent without a checksum (0).
    var udpChecksumZero = false

    enum Family { case ipv4, ipv6 }

    var ethernetHeader: [UInt8] {
        var bytes = dstMAC + srcMAC
        if let vlan { bytes += be16(vlan.proto) + be16(vlan.vid) }
        return bytes + be16(family == .ipv4 ? 0x0800 : 0x86dd)
    }

    var protocolNumber: UInt8 { tcpFlags == nil ? 17 : 6 }

    /// The UDP datagram or TCP segment, with a correct checksum.
    var udp: [UInt8] {
        var segment: [UInt8]
        let checksumOffset: Int
        if let tcpFlags {
            segment = be16(sourcePort) + be16(destinationPort) + [0, 0, 0x10, 0x01] + [0, 0, 0x20, 0x02]
                + [0x50, tcpFlags] + be16(0xfaf0) + [0, 0, 0, 0] + payload
            checksumOffset = 16
        } else {
            segment = be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
            checksumOffset = 6
            if udpChecksumZero { return segment }
        }
        var sum = internetChecksum(pseudoHeader(length: segment.count, protocol: protocolNumber) + segment)
        if sum == 0 && tcpFlags == nil { sum = 0xffff }
        segment[checksumOffset] = UInt8(sum >> 8); segment[checksumOffset + 1] = UInt8(sum & 0xff)
        return segment
    }

    func pseudoHeader(length: Int, protocol number: UInt8) -> [UInt8] {
        switch family {
        case .ipv4: return src + dst + [0, number] + be16(UInt16(length))
        case .ipv6: return src + dst + [0, 0] + be16(UInt16(length)) + [0, 0, 0, number]
        }
    }

    var ipHeader: [UInt8] {
        let l4 = udp
        switch family {
        case .ipv4:
            let ihl = UInt8(5 + ipv4Options.count / 4)
            var header: [UInt8] = [0x40 | ihl, 0] + be16(UInt16(Int(ihl) * 4 + l4.count))
                + be16(0x1234) + be16(fragmentField) + [ttl, tcpFlags == nil ? l4Protocol : 6, 0, 0] + src + dst + ipv4Options
            let sum = internetChecksum(header)
            header[10] = UInt8(sum >> 8); header[11] = UInt8(sum & 0xff)
            return header
        case .ipv6:
            return [0x60, 0, 0, 0] + be16(UInt16(l4.count)) + [tcpFlags == nil ? ipv6NextHeader : 6, ttl] + src + dst
        }
    }

    var bytes: [UInt8] { ethernetHeader + ipHeader + udp }

    /// What a correct router puts on the wire: new MACs, no tag, TTL - 1,
    /// IPv4 checksum recomputed from scratch.
    func forwarded(dstMAC newDst: MAC, srcMAC newSrc: MAC) -> [UInt8] {
        var copy = self
        copy.dstMAC = newDst
        copy.srcMAC = newSrc
        copy.vlan = nil
        copy.ttl = ttl - 1
        return copy.bytes
    }
}

/// Verifies the IPv4 header checksum of an untagged frame by full recomputation.
func ipv4HeaderChecksumIsValid(_ frame: [UInt8]) -> Bool {
    let ihl = Int(frame[14] & 0x0f) * 4
    return internetChecksum(frame[14..<(14 + ihl)]) == 0
}

/// Verifies the TCP/UDP checksum of an untagged IPv4/IPv6 frame by full
/// recomputation over the pseudo header; an IPv4 UDP checksum of 0 ("none") passes.
func l4ChecksumIsValid(_ frame: [UInt8]) -> Bool {
    let isIPv4 = frame[12] == 0x08
    let l3 = 14
    let proto = isIPv4 ? frame[l3 + 9] : frame[l3 + 6]
    let l4 = isIPv4 ? l3 + Int(frame[l3] & 0x0f) * 4 : l3 + 40
    let length = isIPv4 ? (Int(frame[l3 + 2]) << 8 | Int(frame[l3 + 3])) - (l4 - l3)
                        : Int(frame[l3 + 4]) << 8 | Int(frame[l3 + 5])
    let segment = Array(frame[l4..<(l4 + length)])
    if proto == 17 && isIPv4 && segment[6] == 0 && segment[7] == 0 { return true }
    if proto == 17 && !isIPv4 && segment[6] == 0 && segment[7] == 0 { return false }
    let addresses = isIPv4 ? Array(frame[(l3 + 12)..<(l3 + 20)]) : Array(frame[(l3 + 8)..<(l3 + 40)])
    let pseudo = isIPv4 ? addresses + [0, proto] + be16(UInt16(length))
                        : addresses + [0, 0] + be16(UInt16(length)) + [0, 0, 0, proto]
    return internetChecksum(pseudo + segment) == 0
}
