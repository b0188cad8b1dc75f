import XCTest
import CFastPathShim
import CLibBPF
import FastPathCore
@testable import FastPathKernel

/// The base of the safety-check test classes (no tests of its own): a fresh
/// namespace lab and data path for each test, both router ports in policy
/// conntrack unless a test rewrites their entries (`setFlags`), and frames
/// run through BPF_PROG_TEST_RUN inside the router namespace, so that rules,
/// routes and sysctls a test sets there with `lab.exec(lab.router, ...)`
/// decide what bpf_fib_lookup answers.
class RouterTestRunFixture: XCTestCase, RouterFrames {
    enum Program: String, CaseIterable { case xdp, tc }
    /// The optional capabilities a class leaves off even where the kernel has them.
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
            try dataPath.addRedirectTarget(ifindex: lanIndex)
            try dataPath.addRedirectTarget(ifindex: wanIndex)
        }
        try setFlags(lan: .policyConntrack, wan: [.policyConntrack, .wan])
        try dataPath.beat()
    }

    override func tearDown() {
        lab?.destroy()
    }

    /// Rewrites the ports' `fp_ifaces` entries.
    func setFlags(lan: InterfaceFlags, wan: InterfaceFlags = [.policyRouting, .wan]) throws {
        try dataPath.addInterface(ifindex: lanIndex, mac: lanMAC, slot: lanSlot, flags: lan)
        try dataPath.addInterface(ifindex: wanIndex, mac: wanMAC, slot: wanSlot, flags: wan)
    }

    /// A command in the router namespace (`ip rule ...`, `ip route ...`).
    func router(_ command: String...) throws {
        try lab.exec(lab.router, arguments: command)
    }

    // MARK: frames and flows

    /// Mirrors `frame`'s direction as arriving on lan0 (no NAT unless given).
    func mirror(_ frame: TestFrame, rewrite: FlowRewrite = .none, mark: UInt32 = 0) throws {
        try dataPath.addFlow(key(of: frame, ingress: lanIndex), rewrite: rewrite, mark: mark)
    }

    /// What a router makes of an untagged frame it forwards to h2 from wan0
    /// without NAT: new MACs, TTL or hop limit minus one, IPv4 header
    /// checksum recomputed; the rest (odd lengths, padding) as it was.
    func routedToH2(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        out.replaceSubrange(0..<6, with: h2MAC)
        out.replaceSubrange(6..<12, with: wanMAC)
        if out[12] == 0x08 {
            out[22] -= 1
            out[24] = 0; out[25] = 0
            let sum = internetChecksum(out[14..<34])
            out[24] = UInt8(sum >> 8); out[25] = UInt8(sum & 0xff)
        } else {
            out[21] -= 1
        }
        return out
    }

    // MARK: running

    struct Outcome {
        var action: UInt32
        var frame: [UInt8]
        var delta: InterfaceCounters
    }

    /// One test run on the ingress's counters. `gso`: the TC run's skb
    /// claims to be a GSO aggregate of that many segments of that size.
    func run(_ program: Program, _ frame: [UInt8], ingress: UInt32? = nil,
             gso: (segments: UInt32, size: UInt32)? = nil) throws -> Outcome {
        let ingress = ingress ?? lanIndex
        let slot = ingress == lanIndex ? lanSlot : wanSlot
        return try lab.inside(lab.router) { [self] in
            let before = try dataPath.counters(slot: slot)
            let action: UInt32, output: [UInt8]
            switch (program, gso) {
            case (.xdp, _):
                let result = try dataPath.xdp.testRunXDP(frame: frame, ingressIfindex: ingress)
                (action, output) = (result.returnValue, result.frame)
            case (.tc, nil):
                let result = try dataPath.tc.testRunSKB(frame: frame, ingressIfindex: ingress)
                (action, output) = (result.returnValue, result.frame)
            case (.tc, let gso?):
                (action, output) = try testRunGSO(frame, ingress: ingress, segments: gso.segments, size: gso.size)
            }
            let after = try dataPath.counters(slot: slot)
            var delta = InterfaceCounters()
            delta.forwardedPackets = after.forwardedPackets - before.forwardedPackets
            delta.forwardedBytes = after.forwardedBytes - before.forwardedBytes
            delta.redirectErrors = after.redirectErrors - before.redirectErrors
            delta.passed = zip(after.passed, before.passed).map { $0 - $1 }
            return Outcome(action: action, frame: output, delta: delta)
        }
    }

    /// The TC program on an skb with gso_segs/gso_size set (the shim's test
    /// run has no way to set them).
    private func testRunGSO(_ frame: [UInt8], ingress: UInt32, segments: UInt32, size: UInt32) throws -> (UInt32, [UInt8]) {
        var context = __sk_buff()
        context.ifindex = ingress
        context.ingress_ifindex = ingress
        context.gso_segs = segments
        context.gso_size = size
        var output = [UInt8](repeating: 0, count: frame.count + 256)
        var options = bpf_test_run_opts()
        options.sz = MemoryLayout<bpf_test_run_opts>.size
        let rc = frame.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                withUnsafeMutablePointer(to: &context) { ctx in
                    options.data_in = input.baseAddress
                    options.data_size_in = UInt32(input.count)
                    options.data_out = out.baseAddress
                    options.data_size_out = UInt32(out.count)
                    options.ctx_in = UnsafeRawPointer(ctx)
                    options.ctx_size_in = UInt32(MemoryLayout<__sk_buff>.size)
                    options.repeat = 1
                    return bpf_prog_test_run_opts(dataPath.tc.descriptor.rawValue, &options)
                }
            }
        }
        if rc != 0 { throw POSIXError(POSIXErrorCode(rawValue: -rc) ?? .EINVAL) }
        return (options.retval, Array(output[0..<min(Int(options.data_size_out), output.count)]))
    }

    /// Expects each program to pass the frame untouched with exactly one
    /// count of `reason` and nothing else.
    func assertPassed(_ frame: [UInt8], _ reason: String, ingress: UInt32? = nil,
                      programs: [Program] = Program.allCases, gso: (segments: UInt32, size: UInt32)? = nil,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        for program in programs {
            let outcome = try run(program, frame, ingress: ingress, gso: gso)
            let pass = program == .xdp ? XDPAction.pass.rawValue : TCAction.unspec.rawValue
            XCTAssertEqual(outcome.action, pass, "\(program) action", file: file, line: line)
            XCTAssertEqual(outcome.frame, frame, "\(program): a passed frame comes back untouched", file: file, line: line)
            var expected = InterfaceCounters()
            expected.passed[InterfaceCounters.reasonNames.firstIndex(of: reason)!] = 1
            XCTAssertEqual(outcome.delta, expected, "\(program): exactly one '\(reason)'", file: file, line: line)
        }
    }

    /// Expects each program to redirect `expected` (compared with both
    /// checksum fields masked; they are recomputed and checked instead)
    /// and to count one forwarded packet and nothing else.
    func assertForwarded(_ frame: [UInt8], expected: [UInt8], ingress: UInt32? = nil,
                         programs: [Program] = Program.allCases, gso: (segments: UInt32, size: UInt32)? = nil,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        for program in programs {
            let outcome = try run(program, frame, ingress: ingress, gso: gso)
            let redirect = program == .xdp ? XDPAction.redirect.rawValue : TCAction.redirect.rawValue
            XCTAssertEqual(outcome.action, redirect, "\(program) action \(outcome.delta.passed)", file: file, line: line)
            var counted = InterfaceCounters()
            counted.forwardedPackets = 1
            counted.forwardedBytes = UInt64(frame.count)
            XCTAssertEqual(outcome.delta, counted, "\(program): exactly one forwarded", file: file, line: line)
            guard outcome.frame.count == expected.count else {
                return XCTFail("\(program): \(outcome.frame.count) bytes, expected \(expected.count)", file: file, line: line)
            }
            if expected[12] == 0x08 {
                XCTAssertTrue(ipv4HeaderChecksumIsValid(outcome.frame), "\(program): IPv4 header checksum", file: file, line: line)
            }
            XCTAssertTrue(l4ChecksumIsValid(outcome.frame), "\(program): L4 checksum", file: file, line: line)
            XCTAssertEqual(checksumsMasked(outcome.frame), checksumsMasked(expected), "\(program): frame", file: file, line: line)
        }
    }

    /// The frame with its IPv4 header and L4 checksum fields zeroed.
    func checksumsMasked(_ frame: [UInt8]) -> [UInt8] {
        var copy = frame
        let isIPv4 = frame[12] == 0x08
        let l4 = isIPv4 ? 34 : 54
        if isIPv4 { copy[24] = 0; copy[25] = 0 }
        let csum = l4 + ((isIPv4 ? frame[23] : frame[20]) == 6 ? 16 : 6)
        copy[csum] = 0; copy[csum + 1] = 0
        return copy
    }
}

/// An untagged frame's L4 checksum recomputed over the whole IP payload
/// (as `l4ChecksumIsValid` checks it), after a test edited its headers.
func withL4ChecksumRecomputed(_ frame: [UInt8]) -> [UInt8] {
    var out = frame
    let isIPv4 = frame[12] == 0x08
    let proto = isIPv4 ? frame[23] : frame[20]
    let l4 = isIPv4 ? 34 : 54
    let length = isIPv4 ? (Int(frame[16]) << 8 | Int(frame[17])) - 20 : Int(frame[18]) << 8 | Int(frame[19])
    let csum = l4 + (proto == 6 ? 16 : 6)
    out[csum] = 0; out[csum + 1] = 0
    let addresses = isIPv4 ? Array(frame[26..<34]) : Array(frame[22..<54])
    let pseudo = isIPv4 ? addresses + [0, proto] + be16(UInt16(length))
                        : addresses + [0, 0] + be16(UInt16(length)) + [0, 0, 0, proto]
    var sum = internetChecksum(pseudo + out[l4..<(l4 + length)])
    if sum == 0 && proto == 17 { sum = 0xffff }
    out[csum] = UInt8(sum >> 8); out[csum + 1] = UInt8(sum & 0xff)
    return out
}

/// An untagged IPv4 frame with tot_len set to `length` and the header
/// checksum redone (the bytes after the IP packet stay, as padding).
func withIPv4TotalLength(_ frame: [UInt8], _ length: Int) -> [UInt8] {
    var out = frame
    out[16] = UInt8(length >> 8); out[17] = UInt8(length & 0xff)
    out[24] = 0; out[25] = 0
    let sum = internetChecksum(out[14..<34])
    out[24] = UInt8(sum >> 8); out[25] = UInt8(sum & 0xff)
    return out
}
