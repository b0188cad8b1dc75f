import XCTest
import CFastPathShim
import FastPathCore
import FastPathKernel

/// Policy conntrack on crafted frames (BPF_PROG_TEST_RUN) in the lab's
/// router namespace: the flow gate, the heartbeat valve, the NAT rewrite
/// with its checksums checked against a full recomputation, and the
/// next-hop cache with its FIB generation.
class ConntrackTestRunTests: XCTestCase, RouterFrames {
    /// The optional capabilities this run leaves off even where the kernel has them.
    class var turnedOff: Set<KernelCapability> { [] }

    var lab: NamespaceLab!
    var dataPath: DataPath!
    var lanIndex: UInt32 = 0, wanIndex: UInt32 = 0
    var lanMAC: MAC = [], wanMAC: MAC = [], h1MAC: MAC = [], h2MAC: MAC = []
    let lanSlot: UInt32 = 1, wanSlot: UInt32 = 2
    let routerWAN = ipv4(NamespaceLab.wanIPv4)

    override func setUpWithError() throws {
        lab = try NamespaceLab()
        (lanIndex, wanIndex, lanMAC, wanMAC, h1MAC, h2MAC) = try LabPorts(lab).all
        dataPath = try DataPath(turnedOff: type(of: self).turnedOff)
        try lab.inside(lab.router) { [self] in
            try dataPath.addInterface(ifindex: lanIndex, mac: lanMAC, slot: lanSlot, flags: .policyConntrack)
            try dataPath.addInterface(ifindex: wanIndex, mac: wanMAC, slot: wanSlot,
                                      flags: [.policyConntrack, .wan])
            try dataPath.addRedirectTarget(ifindex: lanIndex)
            try dataPath.addRedirectTarget(ifindex: wanIndex)
        }
        try dataPath.beat(valveMilliseconds: 60_000)
    }

    override func tearDown() {
        lab?.destroy()
    }

    // MARK: frames and flows

    struct Outcome {
        var action: UInt32
        var frame: [UInt8]
        var lan: InterfaceCounters
    }

    func run(_ frame: [UInt8], xdp: Bool, ingress: UInt32? = nil) throws -> Outcome {
        try lab.inside(lab.router) { [self] in
            let slot = (ingress ?? lanIndex) == lanIndex ? lanSlot : wanSlot
            let before = try dataPath.counters(slot: slot)
            let result = xdp ? try dataPath.xdp.testRunXDP(frame: frame, ingressIfindex: ingress ?? lanIndex)
                             : try dataPath.tc.testRunSKB(frame: frame, ingressIfindex: ingress ?? lanIndex)
            let after = try dataPath.counters(slot: slot)
            var delta = InterfaceCounters()
            delta.forwardedPackets = after.forwardedPackets - before.forwardedPackets
            delta.passed = zip(after.passed, before.passed).map { $0 - $1 }
            return Outcome(action: result.returnValue, frame: result.frame, lan: delta)
        }
    }

    func both(_ body: (Bool) throws -> Void) rethrows {
        try body(true)
        try body(false)
    }

    func assertPassed(_ frame: [UInt8], _ reason: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try both { xdp in
            let outcome = try run(frame, xdp: xdp)
            XCTAssertEqual(outcome.action, xdp ? XDPAction.pass.rawValue : TCAction.unspec.rawValue, file: file, line: line)
            XCTAssertEqual(outcome.frame, frame, "untouched", file: file, line: line)
            XCTAssertEqual(outcome.lan.passed(reason), 1, "\(xdp ? "xdp" : "tc"): \(reason)", file: file, line: line)
            XCTAssertEqual(outcome.lan.forwardedPackets, 0, file: file, line: line)
        }
    }

    /// Runs `frame` through both programs and checks the output against
    /// `expected` field by field, with both checksums fully recomputed.
    func assertForwarded(_ frame: TestFrame, expected: [UInt8], ingress: UInt32? = nil,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        try both { xdp in
            let outcome = try run(frame.bytes, xdp: xdp, ingress: ingress)
            let program = xdp ? "xdp" : "tc"
            XCTAssertEqual(outcome.action, xdp ? XDPAction.redirect.rawValue : TCAction.redirect.rawValue,
                           "\(program) action", file: file, line: line)
            XCTAssertEqual(outcome.frame.count, expected.count, file: file, line: line)
            guard outcome.frame.count == expected.count else { return }
            if frame.family == .ipv4 {
                XCTAssertTrue(ipv4HeaderChecksumIsValid(outcome.frame), "\(program): IPv4 header checksum", file: file, line: line)
            }
            XCTAssertTrue(l4ChecksumIsValid(outcome.frame), "\(program): L4 checksum \(outcome.frame)", file: file, line: line)
            XCTAssertEqual(masked(outcome.frame), masked(expected), "\(program): frame", file: file, line: line)
        }
    }

    /// The frame with its checksum fields zeroed (checked separately).
    func masked(_ frame: [UInt8]) -> [UInt8] {
        var copy = frame
        let isIPv4 = frame[12] == 0x08
        let l4 = isIPv4 ? 34 : 54
        if isIPv4 { copy[24] = 0; copy[25] = 0 }
        let csum = l4 + ((isIPv4 ? frame[23] : frame[20]) == 6 ? 16 : 6)
        copy[csum] = 0; copy[csum + 1] = 0
        return copy
    }

    // MARK: the gate

    func testEverythingPassesWhileTheHeartbeatIsStale() throws {
        try dataPath.beat(valveMilliseconds: 0)
        MonotonicClock.sleep(milliseconds: 20)
        try dataPath.addFlow(key(of: outbound(), ingress: lanIndex), rewrite: .none)
        try assertPassed(outbound().bytes, "valve")
    }

    func testUnmirroredFlowsStayInTheKernel() throws {
        try assertPassed(outbound().bytes, "not_offloaded")
        try assertPassed(outbound(tcp: nil).bytes, "not_offloaded")
        try assertPassed(outbound(family: .ipv6).bytes, "not_offloaded")
    }

    func testTCPControlSegmentsGoToConntrack() throws {
        let frame = outbound()
        try dataPath.addFlow(key(of: frame, ingress: lanIndex), rewrite: .none)
        for flags: UInt8 in [0x02 /* SYN */, 0x11 /* FIN|ACK */, 0x04 /* RST */, 0x14 /* RST|ACK */] {
            try assertPassed(outbound(tcp: flags).bytes, "tcp_control")
        }
    }

    func testAFlowOnAnotherInterfaceDoesNotMatch() throws {
        try dataPath.addFlow(key(of: outbound(), ingress: wanIndex), rewrite: .none)
        try assertPassed(outbound().bytes, "not_offloaded")
    }

    // MARK: the proof admission waits for

    /// The egress program stamps a listed direction when one of its packets
    /// that arrived on another interface leaves after the grace time, only
    /// while lookups are on, and records where it came in and went out; it
    /// never changes the packet and lets later filters run.
    func testTheEgressProgramStampsListedDirectionsWithHowTheyLeft() throws {
        let frame = outbound()
        let listed = key(of: frame, ingress: 0)
        try dataPath.addRecheck(listed, notBeforeMilliseconds: 0)
        func leave(_ bytes: [UInt8], on ifindex: UInt32, from ingress: UInt32? = nil) throws {
            let result = try lab.inside(lab.router) { [self] in
                try dataPath.tcEgress.testRunSKB(frame: bytes, ingressIfindex: ingress ?? lanIndex, deviceIfindex: ifindex)
            }
            XCTAssertEqual(result.returnValue, TCAction.unspec.rawValue, "later filters run")
            XCTAssertEqual(result.frame, bytes, "the packet is left as it is")
        }
        try leave(frame.bytes, on: wanIndex)
        XCTAssertNil(try dataPath.recheckProof(listed), "lookups are off")
        try dataPath.setRechecking(true)
        try leave(frame.bytes, on: wanIndex, from: 0)
        try leave(outbound(tcp: 0x11).bytes, on: wanIndex)
        try leave(outbound(tcp: 0x00).bytes, on: wanIndex)
        try leave(outbound(family: .ipv6).bytes, on: wanIndex)
        XCTAssertNil(try dataPath.recheckProof(listed), "the router's own, a FIN, an invalid segment, another flow")
        try dataPath.addRecheck(listed, notBeforeMilliseconds: 60_000)
        try leave(frame.bytes, on: wanIndex)
        XCTAssertNil(try dataPath.recheckProof(listed), "within the grace time")
        try dataPath.addRecheck(listed, notBeforeMilliseconds: 0)
        try leave(frame.bytes, on: wanIndex)
        XCTAssertEqual(try dataPath.recheckProof(listed), Admission.Proof(ingress: lanIndex, egress: wanIndex, mark: 0))
        try leave(frame.bytes, on: lanIndex, from: wanIndex)
        XCTAssertEqual(try dataPath.recheckProof(listed)?.egress, wanIndex, "the first proof stays")
        try dataPath.setFamilies(ipv4: true, ipv6: true)
        XCTAssertEqual(try dataPath.config.lookup(key: UInt32(0), as: fp_config.self)?.flags,
                       FP_CONFIG_RECHECK | FP_CONFIG_IPV4 | FP_CONFIG_IPV6, "setting the families keeps lookups on")
        try dataPath.removeRecheck(listed)
        XCTAssertNil(try dataPath.recheckProof(listed))
    }

    // MARK: forwarding and NAT

    func testMirroredFlowWithoutNATIsForwardedAndAccounted() throws {
        let frame = outbound()
        let flow = key(of: frame, ingress: lanIndex)
        try dataPath.addFlow(flow, rewrite: .none)
        try assertForwarded(frame, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
        let activity = try XCTUnwrap(try dataPath.flowActivity(flow))
        XCTAssertEqual(activity.packets, 2)
        XCTAssertEqual(activity.bytes, UInt64(2 * frame.bytes.count))
        XCTAssertGreaterThan(activity.lastSeenNanoseconds, 0)
    }

    /// Last-seen is the coarse clock the heartbeat uses (read once per tick
    /// per CPU by the programs): between two readings of it, and moving on
    /// from one tick to the next (a stale clock would let the manager think
    /// an active flow idle, and keep the valve shut for a dead manager).
    func testLastSeenFollowsTheCoarseClock() throws {
        let frame = outbound()
        let flow = key(of: frame, ingress: lanIndex)
        try dataPath.addFlow(flow, rewrite: .none)
        var previous: UInt64 = 0
        for _ in 0..<3 {
            let before = MonotonicClock.coarseNanoseconds
            try assertForwarded(frame, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
            // without the coarse clock the programs read CLOCK_MONOTONIC itself
            let after = dataPath.capabilities.isOff(.coarseClock) ? MonotonicClock.nanoseconds
                                                                   : MonotonicClock.coarseNanoseconds
            let seen = try XCTUnwrap(try dataPath.flowActivity(flow)).lastSeenNanoseconds
            // the programs' copy may be a tick or two behind the clock's
            XCTAssertGreaterThanOrEqual(seen + 100_000_000, before, "not stale")
            XCTAssertLessThanOrEqual(seen, after)
            XCTAssertGreaterThan(seen, previous, "the clock moved on with the ticks")
            previous = seen
            usleep(50_000) // five ticks at HZ 100
        }
    }

    /// Masquerade: h1:40000 → h2:5001 leaves as 198.51.100.254:61000 → h2:5001.
    func testSourceNATForTCPAndUDP() throws {
        for tcp in [UInt8(0x10), nil] {
            let frame = outbound(tcp: tcp)
            try dataPath.addFlow(key(of: frame, ingress: lanIndex), rewrite: masquerade)
            try assertForwarded(frame, expected: masqueraded(frame).forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
        }
    }

    /// A source-NATed flow whose route now leaves by another interface than
    /// the one the kernel translated for goes to the kernel (which drops a
    /// masqueraded one); on the interface it was translated for it is carried.
    func testSourceNATIsCarriedOnlyOutOfTheInterfaceItWasTranslatedFor() throws {
        let frame = outbound(tcp: nil)
        try dataPath.addFlow(key(of: frame, ingress: lanIndex), rewrite: masquerade, snatEgress: lanIndex)
        try assertPassed(frame.bytes, "egress_changed")
        _ = try dataPath.removeFlow(key(of: frame, ingress: lanIndex))
        try dataPath.addFlow(key(of: frame, ingress: lanIndex), rewrite: masquerade, snatEgress: wanIndex)
        try assertForwarded(frame, expected: masqueraded(frame).forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
    }

    func testUDPWithoutChecksumKeepsNone() throws {
        var frame = outbound(tcp: nil)
        frame.udpChecksumZero = true
        try dataPath.addFlow(key(of: frame, ingress: lanIndex), rewrite: masquerade)
        let expected = masqueraded(frame).forwarded(dstMAC: h2MAC, srcMAC: wanMAC)
        try both { xdp in
            let outcome = try run(frame.bytes, xdp: xdp)
            XCTAssertEqual(outcome.frame, expected, "checksum stays 0, the IPv4 header checksum is updated")
            XCTAssertTrue(ipv4HeaderChecksumIsValid(outcome.frame))
        }
    }

    /// The reply: h2:5001 → 198.51.100.254:61000 arrives on wan0 and goes
    /// back to h1:40000 (the masquerade's DNAT side, or a port forward).
    func testDestinationNATOfTheReply() throws {
        for tcp in [UInt8(0x10), nil] {
            let reply = masqueradeReply(tcp: tcp)
            try dataPath.addFlow(key(of: reply, ingress: wanIndex),
                                 rewrite: FlowRewrite(destination: .init(address: ipv4(NamespaceLab.h1IPv4), port: 40000)))
            var translated = reply
            translated.dst = ipv4(NamespaceLab.h1IPv4)
            translated.destinationPort = 40000
            try assertForwarded(reply, expected: translated.forwarded(dstMAC: h1MAC, srcMAC: lanMAC), ingress: wanIndex)
        }
    }

    /// IPv6 normally runs without NAT; a prefix translation must still keep
    /// the checksums right, and a UDP checksum is never 0.
    func testIPv6FlowsWithAndWithoutTranslation() throws {
        for tcp in [UInt8(0x10), nil] {
            let frame = outbound(tcp: tcp, family: .ipv6)
            try dataPath.addFlow(key(of: frame, ingress: lanIndex), rewrite: .none)
            try assertForwarded(frame, expected: frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
            try dataPath.removeFlow(key(of: frame, ingress: lanIndex))
            let mapped = ipv6("2001:db8:2::fe")
            try dataPath.addFlow(key(of: frame, ingress: lanIndex),
                                 rewrite: FlowRewrite(source: .init(address: mapped, port: 61001)))
            var translated = frame
            translated.src = mapped
            translated.sourcePort = 61001
            try assertForwarded(frame, expected: translated.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))
        }
    }

    // MARK: the next-hop cache

    /// A hit with the current FIB generation uses the cached next hop (a
    /// planted MAC proves the lookup was skipped); a bumped generation makes
    /// the next packet look the route up again.
    func testNextHopCacheFollowsTheFIBGeneration() throws {
        let frame = outbound()
        let flow = key(of: frame, ingress: lanIndex)
        try dataPath.addFlow(flow, rewrite: .none)
        XCTAssertEqual(try run(frame.bytes, xdp: true).frame, frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC))

        let planted: MAC = [0x02, 0xca, 0xfe, 0x00, 0x00, 0x01]
        var cached = try XCTUnwrap(try dataPath.flows.lookup(key: DataPath.flowKey(flow), as: fp_flow.self))
        XCTAssertEqual(cached.nh_flags & FP_NEXTHOP_VALID, FP_NEXTHOP_VALID)
        XCTAssertEqual(cached.nh_ifindex, wanIndex)
        cached.nh_dmac = (planted[0], planted[1], planted[2], planted[3], planted[4], planted[5])
        try dataPath.flows.update(key: DataPath.flowKey(flow), value: cached)
        try both { xdp in
            XCTAssertEqual(try run(frame.bytes, xdp: xdp).frame, frame.forwarded(dstMAC: planted, srcMAC: wanMAC))
        }
        try dataPath.bumpFIBGeneration()
        XCTAssertEqual(try run(frame.bytes, xdp: true).frame, frame.forwarded(dstMAC: h2MAC, srcMAC: wanMAC),
                       "a stale generation redoes the lookup")
    }

    func testLargerPacketsThanTheCachedLookupApprovedAreLookedUpAgain() throws {
        var frame = outbound()
        try dataPath.addFlow(key(of: frame, ingress: lanIndex), rewrite: .none)
        _ = try run(frame.bytes, xdp: true)
        try lab.exec(lab.router, "ip", "link", "set", "wan0", "mtu", "1280")
        frame.payload = Array(repeating: 1, count: 1300)
        // The cache approved 160 bytes only: this one is checked again, against the new MTU.
        try both { xdp in
            let outcome = try run(frame.bytes, xdp: xdp)
            XCTAssertEqual(outcome.action, xdp ? XDPAction.pass.rawValue : TCAction.unspec.rawValue)
            XCTAssertEqual(outcome.lan.passed("frag_needed"), 1)
        }
    }
}

/// The same cases without the coarse clock and the other optional
/// capabilities: the programs read bpf_ktime_get_ns instead.
final class ConntrackTestRunTestsEveryCapabilityOff: ConntrackTestRunTests {
    override class var turnedOff: Set<KernelCapability> { Set(KernelCapability.allCases) }

    // A test of its own: SwiftPM's discovery on Linux lists a subclass (and
    // so runs the cases it inherits) only when it declares one.
    func testEveryCapabilityIsReportedOff() {
        XCTAssertEqual(dataPath.capabilities.degraded.map { $0.capability }, KernelCapability.allCases)
    }
}
