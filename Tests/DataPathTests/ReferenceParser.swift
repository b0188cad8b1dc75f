// An independent, deliberately plain model of which frames the fast path may
// forward at all (the parse step of README.md, "The data path"). The fuzz test checks
// that the BPF program never redirects a frame this model rejects.

struct ReferenceParser {
    /// The parts of a frame that a forwarder rewrites.
    struct Forwardable {
        var l3Offset: Int
        var isIPv4: Bool
        var destination: [UInt8]
    }

    static func forwardable(_ f: [UInt8], ownMAC: MAC) -> Forwardable? {
        guard f.count >= 14, Array(f[0..<6]) == ownMAC else { return nil }
        var offset = 12
        var proto = UInt16(f[offset]) << 8 | UInt16(f[offset + 1])
        if proto == 0x8100 || proto == 0x88a8 {
            guard f.count >= 18 else { return nil }
            offset += 4
            proto = UInt16(f[offset]) << 8 | UInt16(f[offset + 1])
        }
        let l3 = offset + 2
        switch proto {
        case 0x0800: return ipv4(f, l3)
        case 0x86dd: return ipv6(f, l3)
        default: return nil
        }
    }

    private static func ipv4(_ f: [UInt8], _ l3: Int) -> Forwardable? {
        guard f.count >= l3 + 20, f[l3] == 0x45 else { return nil }
        let totalLength = Int(f[l3 + 2]) << 8 | Int(f[l3 + 3])
        guard totalLength >= 20, l3 + totalLength <= f.count else { return nil }
        guard internetChecksum(f[l3..<(l3 + 20)]) == 0 else { return nil }
        guard f[l3 + 6] & 0x3f == 0, f[l3 + 7] == 0 else { return nil } // MF or offset
        guard f[l3 + 8] > 1 else { return nil }
        let src = Array(f[(l3 + 12)..<(l3 + 16)]), dst = Array(f[(l3 + 16)..<(l3 + 20)])
        if dst[0] >= 224 || (dst[0] == 169 && dst[1] == 254) || dst[0] == 0 || dst[0] == 127 { return nil }
        if src[0] >= 224 && src[0] < 240 || src == [255, 255, 255, 255] || src[0] == 0 || src[0] == 127 { return nil }
        return Forwardable(l3Offset: l3, isIPv4: true, destination: dst)
    }

    private static func ipv6(_ f: [UInt8], _ l3: Int) -> Forwardable? {
        guard f.count >= l3 + 40, f[l3] >> 4 == 6 else { return nil }
        let payloadLength = Int(f[l3 + 4]) << 8 | Int(f[l3 + 5])
        guard l3 + 40 + payloadLength <= f.count else { return nil }
        guard ![0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254].contains(f[l3 + 6]) else { return nil }
        guard f[l3 + 7] > 1 else { return nil }
        let src = Array(f[(l3 + 8)..<(l3 + 24)]), dst = Array(f[(l3 + 24)..<(l3 + 40)])
        func linkLocalOrMulticast(_ a: [UInt8]) -> Bool { a[0] == 0xff || (a[0] == 0xfe && a[1] & 0xc0 == 0x80) }
        func unspecifiedOrLoopback(_ a: [UInt8]) -> Bool { a[0..<15].allSatisfy { $0 == 0 } && a[15] <= 1 }
        if linkLocalOrMulticast(dst) || linkLocalOrMulticast(src) { return nil }
        if unspecifiedOrLoopback(dst) || unspecifiedOrLoopback(src) { return nil }
        return Forwardable(l3Offset: l3, isIPv4: false, destination: dst)
    }

    /// The frame a correct forwarder sends: new MACs, no tag, TTL - 1 and the
    /// IPv4 header checksum recomputed in full.
    static func rewritten(_ f: [UInt8], _ info: Forwardable, dstMAC: MAC, srcMAC: MAC) -> [UInt8] {
        var l3 = Array(f[info.l3Offset...])
        if info.isIPv4 {
            l3[8] -= 1
            l3[10] = 0; l3[11] = 0
            let sum = internetChecksum(l3[0..<20])
            l3[10] = UInt8(sum >> 8); l3[11] = UInt8(sum & 0xff)
        } else {
            l3[7] -= 1
        }
        return dstMAC + srcMAC + Array(f[(info.l3Offset - 2)..<info.l3Offset]) + l3
    }
}
