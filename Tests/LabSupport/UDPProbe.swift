import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Real UDP through the lab: a receiver socket opened inside one namespace,
/// a sender inside another (a socket stays in the namespace it was made in).
public struct UDPProbe {
    public enum Family { case ipv4, ipv6 }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends `count` numbered datagrams from `from` to `toAddress:port` in
    /// namespace `to`, and returns how many distinct ones arrived.
    public static func deliver(lab: NamespaceLab, family: Family, from: String, to: String,
                        toAddress: String, port: UInt16 = 5001, count: Int = 200) throws -> Int {
        let receiver = try lab.inside(to) { try openSocket(family) }
        defer { close(receiver) }
        // Frames that arrive through XDP redirect become page-sized skbs, and
        // the whole burst lands before we read: a default receive buffer
        // overflows (UdpRcvbufErrors) although every datagram was delivered.
        var bufferSize: Int32 = 8 << 20
        setsockopt(receiver, SOL_SOCKET, SO_RCVBUFFORCE, &bufferSize, socklen_t(MemoryLayout<Int32>.size))
        try bind(receiver, family: family, port: port)
        let sender = try lab.inside(from) { try openSocket(family) }
        defer { close(sender) }

        var address = try socketAddress(family: family, address: toAddress, port: port)
        for sequence in 0..<count {
            var payload = [UInt8](repeating: 0x5a, count: 64)
            withUnsafeBytes(of: UInt32(sequence).bigEndian) { payload.replaceSubrange(0..<4, with: $0) }
            let sent = payload.withUnsafeBytes { bytes in
                withUnsafePointer(to: &address.storage) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(sender, bytes.baseAddress, bytes.count, 0, $0, address.length)
                    }
                }
            }
            guard sent == payload.count else { throw Failure(description: "sendto: errno \(errno)") }
            if sequence % 50 == 49 { usleep(1000) } // stay far from socket buffer limits
        }

        var timeout = timeval(tv_sec: 2, tv_usec: 0) // a late softirq is not a loss
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var seen = Set<UInt32>()
        var buffer = [UInt8](repeating: 0, count: 2048)
        while seen.count < count {
            let received = buffer.withUnsafeMutableBytes { recv(receiver, $0.baseAddress, $0.count, 0) }
            if received < 4 { break }
            seen.insert(UInt32(buffer[0]) << 24 | UInt32(buffer[1]) << 16 | UInt32(buffer[2]) << 8 | UInt32(buffer[3]))
        }
        if seen.count < count {
            let missing = (0..<UInt32(count)).filter { !seen.contains($0) }
            print("UDPProbe \(from) → \(toAddress): missing sequence numbers \(missing)")
        }
        return seen.count
    }

    private static func openSocket(_ family: Family) throws -> Int32 {
        let fd = socket(family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        return fd
    }

    private struct Address {
        var storage = sockaddr_storage()
        var length: socklen_t = 0
    }

    private static func socketAddress(family: Family, address: String, port: UInt16) throws -> Address {
        var result = Address()
        switch family {
        case .ipv4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &sin.sin_addr) == 1 else { throw Failure(description: "bad address \(address)") }
            withUnsafeBytes(of: sin) { bytes in
                withUnsafeMutableBytes(of: &result.storage) { $0.copyMemory(from: bytes) }
            }
            result.length = socklen_t(MemoryLayout<sockaddr_in>.size)
        case .ipv6:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, address, &sin6.sin6_addr) == 1 else { throw Failure(description: "bad address \(address)") }
            withUnsafeBytes(of: sin6) { bytes in
                withUnsafeMutableBytes(of: &result.storage) { $0.copyMemory(from: bytes) }
            }
            result.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
        return result
    }

    private static func bind(_ fd: Int32, family: Family, port: UInt16) throws {
        var address = try socketAddress(family: family, address: family == .ipv4 ? "0.0.0.0" : "::", port: port)
        let rc = withUnsafePointer(to: &address.storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, address.length) }
        }
        guard rc == 0 else { throw Failure(description: "bind: errno \(errno)") }
    }
}
