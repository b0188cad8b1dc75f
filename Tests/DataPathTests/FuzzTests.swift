import XCTest
import CFastPathShim
import FastPathKernel

/// Random and mutated frames through both programs (BPF_PROG_TEST_RUN). The
/// invariants: a frame the reference parser rejects is never redirected; a
/// redirected frame is exactly the correct rewrite; a passed frame comes back
/// byte-identical; every frame is counted exactly once; nothing is dropped.
final class FuzzTests: XCTestCase {
    static let framesPerProgram = 100_000

    /// SplitMix64: a small seeded generator, so a failure can be replayed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    var lab: NamespaceLab!
    var dataPath: DataPath!
    var lanIndex: UInt32 = 0, wanIndex: UInt32 = 0
    var lanMAC: MAC = [], wanMAC: MAC = [], h1MAC: MAC = [], h2MAC: MAC = []

    override func setUpWithError() throws {
        lab = try NamespaceLab()
        (lanIndex, wanIndex, lanMAC, wanMAC, h1MAC, h2MAC) = try LabPorts(lab).all
        dataPath = try DataPath()
        try lab.inside(lab.router) { [self] in
            try dataPath.addInterface(ifindex: lanIndex, mac: lanMAC, slot: 1)
            try dataPath.addRedirectTarget(ifindex: wanIndex)
            try dataPath.addRedirectTarget(ifindex: lanIndex)
            try dataPath.addVLAN(lower: lanIndex, proto: 0x8100, vid: 10, device: lanIndex)
        }
    }

    override func tearDown() {
        lab?.destroy()
    }

    /// Valid frames the mutations start from.
    func seeds() -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for vlan in [nil, VLANTag(vid: 10)] {
            for (family, src, dst) in [(TestFrame.Family.ipv4, ipv4(NamespaceLab.h1IPv4), ipv4(NamespaceLab.h2IPv4)),
                                       (.ipv6, ipv6(NamespaceLab.h1IPv6), ipv6(NamespaceLab.h2IPv6))] {
                frames.append(TestFrame(dstMAC: lanMAC, srcMAC: h1MAC, vlan: vlan, family: family,
                                        src: src, dst: dst).bytes)
            }
        }
        return frames
    }

    func mutate(_ seed: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var frame = seed
        switch rng.next() % 6 {
        case 0: // random bytes, with a plausible ethertype half the time
            let length = 14 + Int(rng.next() % 120)
            frame = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if rng.next() % 2 == 0 { frame.replaceSubrange(0..<6, with: lanMAC) }
            let types: [[UInt8]] = [[0x08, 0x00], [0x86, 0xdd], [0x81, 0x00], [0x88, 0xa8]]
            if rng.next() % 2 == 0 { frame.replaceSubrange(12..<14, with: types[Int(rng.next() % 4)]) }
        case 1: // truncate anywhere past Ethernet
            frame = Array(frame[0..<(14 + Int(rng.next() % UInt64(frame.count - 14)))])
        case 2: // flip bits in the headers
            for _ in 0..<(1 + rng.next() % 3) {
                let index = 12 + Int(rng.next() % UInt64(min(frame.count, 80) - 12))
                frame[index] ^= UInt8(1 << (rng.next() % 8))
            }
        case 3: // overwrite one header byte and fix nothing
            let index = 12 + Int(rng.next() % UInt64(min(frame.count, 80) - 12))
            frame[index] = UInt8.random(in: 0...255, using: &rng)
        case 4: // append garbage (Ethernet padding) or payload bytes
            frame += (0..<(1 + rng.next() % 64)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        default: // payload changes only: still forwardable
            if frame.count > 60 { frame[frame.count - 1 - Int(rng.next() % 10)] ^= 0xff }
        }
        return frame
    }

    /// The next hop a correct router uses for `destination`, if it knows the
    /// neighbour (nil: the kernel must resolve it, or there is no route).
    func nextHop(_ destination: [UInt8]) -> (dst: MAC, src: MAC)? {
        switch destination {
        case ipv4(NamespaceLab.h2IPv4), ipv6(NamespaceLab.h2IPv6): return (h2MAC, wanMAC)
        case ipv4(NamespaceLab.h1IPv4), ipv6(NamespaceLab.h1IPv6): return (h1MAC, lanMAC)
        default: return nil
        }
    }

    func testRandomAndMutatedFrames() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SeededGenerator(state: seed)
        let seeds = self.seeds()
        var redirected = [0, 0], passed = [0, 0]
        let before = try dataPath.counters(slot: 1)
        try lab.inside(lab.router) { [self] in
            for index in 0..<(2 * Self.framesPerProgram) {
                let isXDP = index % 2 == 0
                let frame = mutate(seeds[Int(rng.next() % UInt64(seeds.count))], &rng)
                let result = isXDP
                    ? try dataPath.xdp.testRunXDP(frame: frame, ingressIfindex: lanIndex)
                    : try runTC(frame)
                guard let result else { continue }
                let program = isXDP ? 0 : 1
                let context = "seed \(seed) frame #\(index) \(isXDP ? "xdp" : "tc"): \(frame)"
                let wasRedirected = result.returnValue == (isXDP ? XDPAction.redirect.rawValue : TCAction.redirect.rawValue)
                let wasPassed = result.returnValue == (isXDP ? XDPAction.pass.rawValue : TCAction.unspec.rawValue)
                guard wasRedirected || wasPassed else {
                    return XCTFail("unexpected action \(result.returnValue): \(context)")
                }
                if wasPassed {
                    passed[program] += 1
                    guard result.frame == frame else { return XCTFail("passed frame changed: \(context)") }
                    continue
                }
                redirected[program] += 1
                guard let info = ReferenceParser.forwardable(frame, ownMAC: lanMAC) else {
                    return XCTFail("redirected a frame that must not parse: \(context)")
                }
                let expected: [UInt8]
                if let hop = nextHop(info.destination) {
                    expected = ReferenceParser.rewritten(frame, info, dstMAC: hop.dst, srcMAC: hop.src)
                } else if !isXDP {
                    // TC's bpf_redirect_neigh: the neighbour layer writes the MACs.
                    expected = ReferenceParser.rewritten(frame, info, dstMAC: Array(frame[0..<6]),
                                                         srcMAC: Array(frame[6..<12]))
                } else {
                    return XCTFail("XDP redirected without a known neighbour: \(context)")
                }
                guard result.frame == expected else {
                    return XCTFail("wrong rewrite: got \(result.frame) expected \(expected): \(context)")
                }
            }
        }
        let after = try dataPath.counters(slot: 1)
        let runs = UInt64(redirected.reduce(0, +) + passed.reduce(0, +))
        XCTAssertEqual(after.totalPackets - before.totalPackets, runs, "every frame counted exactly once")
        XCTAssertEqual(after.forwardedPackets - before.forwardedPackets, UInt64(redirected.reduce(0, +)))
        XCTAssertGreaterThan(redirected[0], 1000, "the mutations must also produce forwardable frames")
        XCTAssertGreaterThan(passed[0], 1000)
        print("fuzz: seed \(seed): \(runs) frames run (xdp: \(redirected[0]) redirected, \(passed[0]) passed;"
              + " tc: \(redirected[1]) redirected, \(passed[1]) passed)")
    }

    /// The kernel's skb test run refuses frames whose IP header is cut short
    /// (EINVAL); those can't be run through TC this way.
    func runTC(_ frame: [UInt8]) throws -> BPFTestRunResult? {
        do {
            return try dataPath.tc.testRunSKB(frame: frame, ingressIfindex: lanIndex)
        } catch {
            let code = error.errno
            if code == EINVAL { return nil }
            throw error
        }
    }
}
