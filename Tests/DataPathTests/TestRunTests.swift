import XCTest
import CFastPathShim
import FastPathCore
import FastPathKernel

/// The data path on crafted frames through BPF_PROG_TEST_RUN, inside the
/// lab's router namespace so that bpf_fib_lookup sees real routes and
/// neighbours. Every case expects one exact action and one exact counter.
/// Runs with every optional capability the kernel has, and again with all
/// of them off (`TestRunTestsEveryCapabilityOff`).
class TestRunTests: XCTestCase {
    /// The optional capabilities this run leaves off even where the kernel has them.
    class var turnedOff: Set<KernelCapability> { [] }

    enum Program { case xdp, tc }

    nonisolated(unsafe) static var lab: NamespaceLab!
    nonisolated(unsafe) static var dataPath: DataPath!
    nonisolated(unsafe) static var setupError: Error?
    static var lanIndex: UInt32 = 0, wanIndex: UInt32 = 0
    static var lanMAC: MAC = [], wanMAC: MAC = [], h1MAC: MAC = [], h2MAC: MAC = []
    static let lanSlot: UInt32 = 1

    override class func setUp() {
        do {
            let lab = try NamespaceLab()
            self.lab = lab
            (lanIndex, wanIndex, lanMAC, wanMAC, h1MAC, h2MAC) = try LabPorts(lab).all
            let dataPath = try DataPath(turnedOff: turnedOff)
            self.dataPath = dataPath
            try lab.inside(lab.router) {
                try dataPath.addInterface(ifindex: lanIndex, mac: lanMAC, slot: lanSlot)
                try dataPath.addInterface(ifindex: wanIndex, mac: wanMAC, slot: 2)
                try dataPath.addRedirectTarget(ifindex: wanIndex)
                try dataPath.addRedirectTarget(ifindex: lanIndex)
                try dataPath.addLocalAddress(ipv4(NamespaceLab.wanIPv4), ifindex: wanIndex)
                try dataPath.addLocalAddress(ipv6(NamespaceLab.lanIPv6), ifindex: lanIndex)
                // A VLAN: no 8021q module here, so the tag maps to lan0 itself.
                try dataPath.addVLAN(lower: lanIndex, proto: 0x8100, vid: 10, device: lanIndex)
                try dataPath.addVLAN(lower: lanIndex, proto: 0x88a8, vid: 20, device: lanIndex)
            }
        } catch {
            setupError = error
        }
    }

    override class func tearDown() {
        lab?.destroy()
        lab = nil
        dataPath = nil
    }

    override func setUpWithError() throws {
        if let error = TestRunTests.setupError { throw error }
    }

    // MARK: - frames

    func v4(ttl: UInt8 = 64, to destination: String = NamespaceLab.h2IPv4, vlan: VLANTag? = nil) -> TestFrame {
        TestFrame(dstMAC: Self.lanMAC, srcMAC: Self.h1MAC, vlan: vlan, family: .ipv4,
                  src: ipv4(NamespaceLab.h1IPv4), dst: ipv4(destination), ttl: ttl)
    }

    func v6(hopLimit: UInt8 = 64, to destination: String = NamespaceLab.h2IPv6, vlan: VLANTag? = nil) -> TestFrame {
        TestFrame(dstMAC: Self.lanMAC, srcMAC: Self.h1MAC, vlan: vlan, family: .ipv6,
                  src: ipv6(NamespaceLab.h1IPv6), dst: ipv6(destination), ttl: hopLimit)
    }

    // MARK: - running

    struct Outcome {
        var action: UInt32
        var frame: [UInt8]
        var metadata: [UInt8]
        var delta: InterfaceCounters
    }

    func run(_ program: Program, _ frame: [UInt8], ingress: UInt32? = nil,
             slot: UInt32 = TestRunTests.lanSlot) throws -> Outcome {
        let dataPath = Self.dataPath!
        return try Self.lab.inside(Self.lab.router) {
            let before = try dataPath.counters(slot: slot)
            let result: BPFTestRunResult
            switch program {
            case .xdp: result = try dataPath.xdp.testRunXDP(frame: frame, ingressIfindex: ingress ?? Self.lanIndex)
            case .tc: result = try dataPath.tc.testRunSKB(frame: frame, ingressIfindex: ingress ?? Self.lanIndex)
            }
            let after = try dataPath.counters(slot: slot)
            var delta = InterfaceCounters()
            delta.forwardedPackets = after.forwardedPackets - before.forwardedPackets
            delta.forwardedBytes = after.forwardedBytes - before.forwardedBytes
            delta.redirectErrors = after.redirectErrors - before.redirectErrors
            delta.passed = zip(after.passed, before.passed).map { $0 - $1 }
            return Outcome(action: result.returnValue, frame: result.frame, metadata: result.metadata, delta: delta)
        }
    }

    /// Expects the frame back untouched with exactly one count of `reason`.
    func assertPassed(_ program: Program, _ frame: [UInt8], _ reason: String, ingress: UInt32? = nil,
                      slot: UInt32 = TestRunTests.lanSlot, file: StaticString = #filePath, line: UInt = #line) throws {
        let outcome = try run(program, frame, ingress: ingress, slot: slot)
        let pass = program == .xdp ? XDPAction.pass.rawValue : TCAction.unspec.rawValue
        XCTAssertEqual(outcome.action, pass, "\(program) action", file: file, line: line)
        XCTAssertEqual(outcome.frame, frame, "\(program): a passed frame comes back byte-identical", file: file, line: line)
        var expected = InterfaceCounters()
        expected.passed[InterfaceCounters.reasonNames.firstIndex(of: reason)!] = 1
        XCTAssertEqual(outcome.delta, expected, "\(program): exactly one '\(reason)'", file: file, line: line)
    }

    /// Expects a redirect with exactly `expected` on the wire and one forwarded count.
    func assertForwarded(_ program: Program, _ frame: [UInt8], expected: [UInt8],
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let outcome = try run(program, frame)
        let redirect = program == .xdp ? XDPAction.redirect.rawValue : TCAction.redirect.rawValue
        XCTAssertEqual(outcome.action, redirect, "\(program) action", file: file, line: line)
        XCTAssertEqual(outcome.frame, expected, "\(program): forwarded frame", file: file, line: line)
        if expected.count > 14, expected[12] == 0x08, expected[13] == 0x00 {
            XCTAssertTrue(ipv4HeaderChecksumIsValid(outcome.frame), "IPv4 checksum", file: file, line: line)
        }
        var counters = InterfaceCounters()
        counters.forwardedPackets = 1
        counters.forwardedBytes = UInt64(frame.count)
        XCTAssertEqual(outcome.delta, counters, "\(program): exactly one forwarded", file: file, line: line)
    }

    func both(_ body: (Program) throws -> Void) rethrows {
        try body(.xdp)
        try body(.tc)
    }

    // MARK: - forwarding

    func testIPv4IsForwardedWithTTLAndChecksumRewritten() throws {
        let frame = v4()
        try both { try assertForwarded($0, frame.bytes, expected: frame.forwarded(dstMAC: Self.h2MAC, srcMAC: Self.wanMAC)) }
    }

    func testIPv6IsForwardedWithHopLimitRewritten() throws {
        let frame = v6()
        try both { try assertForwarded($0, frame.bytes, expected: frame.forwarded(dstMAC: Self.h2MAC, srcMAC: Self.wanMAC)) }
    }

    func testTTLTwoIsForwardedWithTTLOne() throws {
        for frame in [v4(ttl: 2), v6(hopLimit: 2)] {
            let expected = frame.forwarded(dstMAC: Self.h2MAC, srcMAC: Self.wanMAC)
            XCTAssertEqual(expected[frame.family == .ipv4 ? 22 : 21], 1)
            try both { try assertForwarded($0, frame.bytes, expected: expected) }
        }
    }

    func testHairpinBackOutOfTheIngressInterface() throws {
        var frame = v4(to: NamespaceLab.h1IPv4)
        frame.src = ipv4("198.51.100.2")
        try both { try assertForwarded($0, frame.bytes, expected: frame.forwarded(dstMAC: Self.h1MAC, srcMAC: Self.lanMAC)) }
    }

    func testTaggedFramesAreForwardedUntagged() throws {
        for frame in [v4(vlan: VLANTag(proto: 0x8100, vid: 10)), v6(vlan: VLANTag(proto: 0x8100, vid: 10)),
                      v4(vlan: VLANTag(proto: 0x88a8, vid: 20)), v6(vlan: VLANTag(proto: 0x88a8, vid: 20))] {
            let expected = frame.forwarded(dstMAC: Self.h2MAC, srcMAC: Self.wanMAC)
            XCTAssertEqual(expected.count, frame.bytes.count - 4)
            try both { try assertForwarded($0, frame.bytes, expected: expected) }
        }
    }

    func testUnknownVLANIsPassed() throws {
        let vlan = VLANTag(proto: 0x8100, vid: 99)
        try both { try assertPassed($0, v4(vlan: vlan).bytes, "vlan_unknown") }
        try both { try assertPassed($0, v6(vlan: vlan).bytes, "vlan_unknown") }
    }

    func testEgressWithoutXDPIsHandedToTCWithItsLookup() throws {
        try Self.lab.inside(Self.lab.router) { _ = try Self.dataPath.devmap.delete(key: Self.wanIndex) }
        defer { try? Self.lab.inside(Self.lab.router) { try Self.dataPath.addRedirectTarget(ifindex: Self.wanIndex) } }
        let frame = v4().bytes
        let outcome = try run(.xdp, frame)
        XCTAssertEqual(outcome.action, XDPAction.pass.rawValue)
        XCTAssertEqual(outcome.frame, frame, "the frame itself is untouched")
        XCTAssertEqual(outcome.delta.passed(InterfaceCounters.reasonNames[Int(FP_PASS_TC_HANDOFF)]), 1)
        XCTAssertEqual(outcome.delta.forwardedPackets, 0)
        if Self.dataPath.capabilities.isOff(.xdpTCHandoff) {
            XCTAssertEqual(outcome.metadata, [], "no handoff: nothing in front of the frame")
            // TC then finds the route itself.
            try assertForwarded(.tc, frame, expected: v4().forwarded(dstMAC: Self.h2MAC, srcMAC: Self.wanMAC))
            return
        }
        XCTAssertEqual(outcome.metadata.count, MemoryLayout<fp_meta>.size)
        let meta = outcome.metadata.withUnsafeBytes { $0.loadUnaligned(as: fp_meta.self) }
        XCTAssertEqual(meta.magic, FP_META_MAGIC)
        XCTAssertEqual(meta.ifindex, Self.wanIndex)
        XCTAssertEqual(meta.fib_ifindex, Self.lanIndex)
        XCTAssertEqual(withUnsafeBytes(of: meta.dmac) { Array($0) }, Self.h2MAC)
        XCTAssertEqual(withUnsafeBytes(of: meta.smac) { Array($0) }, Self.wanMAC)
    }

    // MARK: - passed to the kernel

    func testTTLOneAndZeroArePassed() throws {
        for ttl: UInt8 in [1, 0] {
            try both { try assertPassed($0, v4(ttl: ttl).bytes, "ttl") }
            try both { try assertPassed($0, v6(hopLimit: ttl).bytes, "ttl") }
        }
    }

    func testIPv4OptionsArePassed() throws {
        var frame = v4()
        frame.ipv4Options = [0x94, 0x04, 0x00, 0x00] // router alert
        try both { try assertPassed($0, frame.bytes, "ip_options") }
    }

    func testFragmentsArePassed() throws {
        for field: UInt16 in [0x2000 /* MF */, 0x0010 /* offset */, 0x2010] {
            var frame = v4()
            frame.fragmentField = field
            try both { try assertPassed($0, frame.bytes, "fragment") }
        }
        var frame = v6()
        frame.ipv6NextHeader = 44
        try both { try assertPassed($0, frame.bytes, "fragment") }
    }

    func testIPv6ExtensionHeadersArePassed() throws {
        for next: UInt8 in [0, 43, 60] {
            var frame = v6()
            frame.ipv6NextHeader = next
            try both { try assertPassed($0, frame.bytes, "ipv6_exthdr") }
        }
    }

    func testTruncatedAtEveryHeaderBoundaryIsMalformed() throws {
        let frames = [v4(), v6(), v4(vlan: VLANTag(vid: 10)), v6(vlan: VLANTag(proto: 0x88a8, vid: 20))]
        for frame in frames {
            let bytes = frame.bytes
            let headers = frame.ethernetHeader.count + frame.ipHeader.count
            // Every cut from just after the MACs and ethertype to one byte
            // short of the whole frame: headers cut, or tot_len/payload_len
            // longer than what arrived.
            for length in 14..<bytes.count {
                let cut = Array(bytes[0..<length])
                let reason = "malformed"
                try assertPassed(.xdp, cut, reason)
                // The kernel's skb test run refuses (EINVAL) frames whose IP
                // header is cut short; from there on TC must pass them too.
                do {
                    try assertPassed(.tc, cut, reason)
                } catch let error as FastPathError where error.errno == EINVAL && length < headers {
                    continue
                }
            }
            XCTAssertGreaterThan(bytes.count, headers)
        }
    }

    func testBadIPv4HeaderChecksumIsPassed() throws {
        var bytes = v4().bytes
        bytes[24] ^= 0x01
        try both { try assertPassed($0, bytes, "malformed") }
    }

    func testBadVersionAndIHLArePassed() throws {
        var bytes = v4().bytes
        bytes[14] = 0x44
        try both { try assertPassed($0, bytes, "malformed") }
        bytes[14] = 0x65
        try both { try assertPassed($0, bytes, "malformed") }
    }

    func testUnknownEthertypeIsPassed() throws {
        var bytes = v4().bytes
        bytes[12] = 0x88; bytes[13] = 0xb5
        try both { try assertPassed($0, bytes, "not_ip") }
        let arp: [UInt8] = Self.lanMAC + Self.h1MAC + [0x08, 0x06] + [UInt8](repeating: 0, count: 28)
        try both { try assertPassed($0, arp, "not_ip") }
    }

    func testNoRouteIsPassed() throws {
        try both { try assertPassed($0, v4(to: "203.0.113.7").bytes, "no_route") }
        try both { try assertPassed($0, v6(to: "2001:db8:99::7").bytes, "no_route") }
    }

    func testLocallyAddressedIsPassed() throws {
        try both { try assertPassed($0, v4(to: NamespaceLab.wanIPv4).bytes, "local") }
        try both { try assertPassed($0, v6(to: NamespaceLab.lanIPv6).bytes, "local") }
    }

    func testNoNeighbourIsPassedByXDPAndResolvedByTC() throws {
        for frame in [v4(to: "198.51.100.77"), v6(to: "2001:db8:2::77")] {
            try assertPassed(.xdp, frame.bytes, "no_neigh")
            if Self.dataPath.capabilities.isOff(.redirectNeighbour) {
                // No bpf_redirect_neigh: the kernel resolves the neighbour.
                try assertPassed(.tc, frame.bytes, "no_neigh")
                continue
            }
            // TC hands the packet to the neighbour layer (bpf_redirect_neigh):
            // TTL decremented, MACs left for the neighbour layer to fill.
            var expected = frame
            expected.ttl -= 1
            let outcome = try run(.tc, frame.bytes)
            XCTAssertEqual(outcome.action, TCAction.redirect.rawValue)
            XCTAssertEqual(outcome.frame, expected.bytes)
            XCTAssertEqual(outcome.delta.forwardedPackets, 1)
            XCTAssertEqual(outcome.delta.passed.reduce(0, +), 0)
        }
    }

    func testLargerThanTheEgressMTUIsPassed() throws {
        try Self.lab.exec(Self.lab.router, "ip", "link", "set", "wan0", "mtu", "1280")
        defer { _ = try? Self.lab.exec(Self.lab.router, "ip", "link", "set", "wan0", "mtu", "1500") }
        for var frame in [v4(), v6()] {
            frame.payload = [UInt8](repeating: 0xab, count: 1300)
            try both { try assertPassed($0, frame.bytes, "frag_needed") }
        }
    }

    func testMulticastBroadcastAndLinkLocalArePassed() throws {
        var frame = v4()
        frame.dstMAC = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        try both { try assertPassed($0, frame.bytes, "multicast") }
        frame.dstMAC = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x05]
        try both { try assertPassed($0, frame.bytes, "multicast") }
        try both { try assertPassed($0, v4(to: "224.0.0.5").bytes, "multicast") }
        try both { try assertPassed($0, v4(to: "255.255.255.255").bytes, "multicast") }
        try both { try assertPassed($0, v4(to: "169.254.1.1").bytes, "multicast") }
        try both { try assertPassed($0, v6(to: "ff02::1").bytes, "multicast") }
        try both { try assertPassed($0, v6(to: "fe80::1").bytes, "multicast") }
    }

    func testMartianSourcesArePassed() throws {
        for source in ["127.0.0.1", "0.0.0.9", "224.1.1.1"] {
            var frame = v4()
            frame.src = ipv4(source)
            try both { try assertPassed($0, frame.bytes, "martian") }
        }
        for source in ["::1", "fe80::1", "ff02::1"] {
            var frame = v6()
            frame.src = ipv6(source)
            try both { try assertPassed($0, frame.bytes, "martian") }
        }
    }

    func testFramesForAnotherMACArePassed() throws {
        var frame = v4()
        frame.dstMAC = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55]
        try both { try assertPassed($0, frame.bytes, "other_host") }
    }

    func testDisabledFamilyIsPassed() throws {
        defer { try? Self.dataPath.apply(DataPath.testSettings) } // shared by every test
        var settings = DataPath.testSettings
        settings.ipv4 = false
        try Self.dataPath.apply(settings)
        try both { try assertPassed($0, v4().bytes, "disabled") }
        (settings.ipv4, settings.ipv6) = (true, false)
        try Self.dataPath.apply(settings)
        try both { try assertPassed($0, v6().bytes, "disabled") }
    }

    func testUnconfiguredInterfaceIsPassedAndCountedInSlotZero() throws {
        let loopback: UInt32 = 1
        try both { try assertPassed($0, v4().bytes, "not_offloaded", ingress: loopback, slot: 0) }
    }

    /// Interfaces are found by direct index below FP_IFACE_INDEXED and by
    /// hash above (a router that re-created many devices): both count in
    /// their own slot, and entries read back and go.
    func testInterfacesWithLargeIfindexesAreFoundToo() throws {
        let lab = Self.lab!, dataPath = Self.dataPath!
        let high = UInt32(FP_IFACE_INDEXED) + 1000
        try lab.exec(lab.router, "ip", "link", "add", "hi0", "index", "\(high)", "type", "veth", "peer", "name", "hi1")
        defer { _ = try? lab.exec(lab.router, "ip", "link", "del", "hi0") }
        try lab.exec(lab.router, "ip", "link", "set", "hi0", "up")
        try dataPath.addInterface(ifindex: high, mac: Self.lanMAC, slot: 9)
        try both { try assertPassed($0, v4(ttl: 1).bytes, "ttl", ingress: high, slot: 9) }
        let entries = try dataPath.interfaceEntries()
        XCTAssertEqual(Set(entries.map { $0.ifindex }), [Self.lanIndex, Self.wanIndex, high])
        XCTAssertEqual(entries.first { $0.ifindex == high }?.entry.slot, 9)
        XCTAssertTrue(try dataPath.removeInterface(ifindex: high))
        XCTAssertFalse(try dataPath.removeInterface(ifindex: high))
        try both { try assertPassed($0, v4(ttl: 1).bytes, "not_offloaded", ingress: high, slot: 0) }
        XCTAssertFalse(try dataPath.removeInterface(ifindex: 7), "an index with no entry")
        XCTAssertEqual(Set(try dataPath.interfaceEntries().map { $0.ifindex }), [Self.lanIndex, Self.wanIndex])
    }
}

/// The same cases with every optional capability off: the fallbacks a
/// kernel without them gets.
final class TestRunTestsEveryCapabilityOff: TestRunTests {
    override class var turnedOff: Set<KernelCapability> { Set(KernelCapability.allCases) }

    func testEveryCapabilityIsReportedOff() {
        XCTAssertEqual(Self.dataPath.capabilities.degraded.map { $0.capability }, KernelCapability.allCases)
    }
}
