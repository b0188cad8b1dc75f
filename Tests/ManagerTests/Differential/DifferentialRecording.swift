import Foundation

/// What the receivers recorded in one run: packets and bytes per
/// (host, ingress interface, addresses, protocol, ports).
struct DifferentialRecording {
    struct Key: Hashable, Comparable, CustomStringConvertible {
        var host, interface, src, dst, proto: String
        var sport, dport: Int

        var description: String {
            let ports = proto.hasPrefix("icmp") ? " type \(sport) code \(dport)" : ""
            let from = proto.hasPrefix("icmp") || sport < 0 ? src : "\(src):\(sport)"
            let to = proto.hasPrefix("icmp") || dport < 0 ? dst : "\(dst):\(dport)"
            return "\(host) \(interface) \(proto) \(from) > \(to)\(ports)"
        }

        static func < (a: Key, b: Key) -> Bool { a.description < b.description }
    }

    struct Count: Equatable {
        var packets = 0, bytes = 0
        /// Wall-clock times of the first and last packet (not compared).
        var first = 0.0, last = 0.0

        static func == (a: Count, b: Count) -> Bool { a.packets == b.packets && a.bytes == b.bytes }
    }

    var counts: [Key: Count] = [:]

    var deliveredPackets: Int { counts.values.reduce(0) { $0 + $1.packets } }

    /// Adds what `recorder.py` printed on `host`.
    mutating func add(host: String, json: String) throws {
        guard let entries = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] else {
            throw ManagerLab.Failure("recorder on \(host) printed no JSON list: \(json)")
        }
        for entry in entries {
            let key = Key(host: host, interface: entry["if"] as? String ?? "?", src: entry["src"] as? String ?? "?",
                          dst: entry["dst"] as? String ?? "?", proto: entry["proto"] as? String ?? "?",
                          sport: entry["sport"] as? Int ?? -1, dport: entry["dport"] as? Int ?? -1)
            counts[key] = Count(packets: entry["packets"] as? Int ?? 0, bytes: entry["bytes"] as? Int ?? 0,
                                first: entry["first"] as? Double ?? 0, last: entry["last"] as? Double ?? 0)
        }
    }

    /// One line per key whose count differs between the runs (a key one
    /// run lacks counts as 0), sorted; empty when they are identical.
    static func diff(kernel: DifferentialRecording, fastpath: DifferentialRecording) -> [String] {
        let keys = Set(kernel.counts.keys).union(fastpath.counts.keys).sorted()
        return keys.compactMap { key in
            let k = kernel.counts[key] ?? Count(), f = fastpath.counts[key] ?? Count()
            guard k != f else { return nil }
            return "\(key): kernel \(k.packets) pkts \(k.bytes) B, fastpath \(f.packets) pkts \(f.bytes) B"
        }
    }

    /// Packets `host` received.
    func packets(on host: String) -> Int {
        counts.filter { $0.key.host == host }.values.reduce(0) { $0 + $1.packets }
    }

    /// Every key with its count, for the log of a failing scenario.
    var listing: String {
        counts.keys.sorted().map { "  \($0): \(counts[$0]!.packets) pkts \(counts[$0]!.bytes) B" }.joined(separator: "\n")
    }
}
