import XCTest
@testable import FastPathCore

final class RunStateTests: XCTestCase {
    private static let degraded = CapabilityReport(kernelRelease: "6.18.44-fc\tv1300", degraded: [
        .init(.xdpTCHandoff, why: "kernel refuses bpf_xdp_adjust_meta in xdp programs"),
        .init(.coarseClock, why: CapabilityReport.turnedOffByConfig),
    ])
    private static let complete = CapabilityReport(kernelRelease: "6.1.0-57-amd64")

    private let sample = RunState(pid: 4242, capabilities: degraded, interfaces: [
        RunState.Interface(device: "br-lan", section: "lan", ifindex: 6, requested: .auto, mode: .xdpNative,
                           slot: 1, reason: ""),
        RunState.Interface(device: "eth1", section: "@interface[1]", ifindex: 3, requested: .native, mode: .tc,
                           slot: 2, reason: "native XDP refused: tab\there\nnewline \\ backslash\r; using tc"),
        RunState.Interface(device: "wg0", section: "vpn", ifindex: 0, requested: .generic, mode: .none,
                           slot: nil, reason: "waiting for device"),
    ])

    func testEncodingIsOneLinePerInterface() {
        XCTAssertEqual(sample.encoded(), """
            fastpath-state\t2\t4242
            kernel\t6.18.44-fc\\tv1300\t2
            xdp_tc_handoff\tkernel refuses bpf_xdp_adjust_meta in xdp programs
            coarse_clock\tturned off by option disable_capability
            br-lan\tlan\t6\tauto\txdp-native\t1\t
            eth1\t@interface[1]\t3\tnative\ttc\t2\tnative XDP refused: tab\\there\\nnewline \\\\ backslash\\r; using tc
            wg0\tvpn\t0\tgeneric\tnone\t\twaiting for device

            """)
    }

    func testRoundTrip() throws {
        XCTAssertEqual(try RunState.decode(sample.encoded()), sample)
        let empty = RunState(pid: 1, capabilities: Self.complete, interfaces: [])
        XCTAssertEqual(try RunState.decode(empty.encoded()), empty)
        XCTAssertEqual(sample.slotsByDevice, ["br-lan": 1, "eth1": 2])
        let down = RunState(pid: 1, capabilities: Self.complete, interfaces: [
            RunState.Interface(device: "", section: "wan", ifindex: 0, requested: .auto, mode: .none, slot: 2,
                               reason: "waiting for netifd interface 'wan' to have a device"),
        ])
        XCTAssertEqual(try RunState.decode(down.encoded()), down, "a netifd interface without a device")
        XCTAssertEqual(down.slotsByDevice, [:])
        // Without the final newline too.
        var text = sample.encoded()
        text.removeLast()
        XCTAssertEqual(try RunState.decode(text), sample)
    }

    func testFromPlan() throws {
        let config = FastPathConfig(interfaces: [
            FastPathConfig.Interface(name: "lan", device: "eth0", line: 1, deviceLine: 2),
            FastPathConfig.Interface(name: "wan", device: "eth1", mode: .tc, line: 3, deviceLine: 4),
        ])
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: [.basic])])
        let plan = ReconcilePlanner.plan(config: config, view: view, attached: [:], currentRedirectTargets: [],
                                         maxSlot: 8)
        let state = RunState(pid: 99, capabilities: Self.complete, plan: plan)
        XCTAssertEqual(state.interfaces, [
            RunState.Interface(device: "eth0", section: "lan", ifindex: 3, requested: .auto, mode: .xdpNative,
                               slot: 1, reason: ""),
            RunState.Interface(device: "eth1", section: "wan", ifindex: 0, requested: .tc, mode: .none,
                               slot: nil, reason: "waiting for device"),
        ])
        XCTAssertEqual(try RunState.decode(state.encoded()), state)
    }

    func testBadInputIsAnErrorNamingTheLine() {
        let good = "fastpath-state\t2\t7\nkernel\t6.1.0\t0\n"
        let row = "eth0\tlan\t3\tauto\ttc\t1\t"
        let cases: [(String, Int, String)] = [
            ("", 1, "empty state file"),
            ("\n", 1, "empty state file"),
            ("hello\n", 1, "not a fastpath state file"),
            ("fastpath-state\t1\t7\n", 1, "unsupported format version"),
            ("fastpath-state\t2\t0\n", 1, "bad pid"),
            ("fastpath-state\t2\t99999999999\n", 1, "bad pid"),
            ("fastpath-state\t2\t-3\n", 1, "bad pid"),
            ("fastpath-state\t2\t7\textra\n", 1, "not a fastpath state file"),
            ("fastpath-state\t2\t7\n", 2, "expected the kernel line"),
            ("fastpath-state\t2\t7\n" + row + "\n", 2, "expected the kernel line"),
            ("fastpath-state\t2\t7\nkernel\t6.1.0\t2\nxdp_tc_handoff\twhy\n", 2, "bad number of degraded capabilities"),
            ("fastpath-state\t2\t7\nkernel\t6.1.0\t9\n", 2, "bad number of degraded capabilities"),
            ("fastpath-state\t2\t7\nkernel\t6.1.0\t1\nwarp_drive\twhy\n", 3, "expected a capability and why it is off"),
            ("fastpath-state\t2\t7\nkernel\t6.1.0\t1\nxdp_tc_handoff\n", 3, "expected a capability and why it is off"),
            (good + "eth0\tlan\t3\n", 3, "expected 7 tab-separated fields, found 3"),
            (good + row + "\textra\n", 3, "expected 7 tab-separated fields, found 8"),
            (good + row + "\n\n", 4, "expected 7 tab-separated fields, found 1"),
            (good + "\t\t0\tauto\tnone\t\t\n", 3, "neither a device nor a section"),
            (good + "eth0\tlan\tx3\tauto\ttc\t1\t\n", 3, "bad ifindex"),
            (good + "eth0\tlan\t4294967296\tauto\ttc\t1\t\n", 3, "bad ifindex"),
            (good + "eth0\tlan\t99999999999999999999\tauto\ttc\t1\t\n", 3, "bad ifindex"),
            (good + "eth0\tlan\t3\tfast\ttc\t1\t\n", 3, "bad requested mode"),
            (good + "eth0\tlan\t3\tauto\txdp\t1\t\n", 3, "bad mode"),
            (good + "eth0\tlan\t3\tauto\ttc\t-1\t\n", 3, "bad slot"),
            (good + "eth0\tlan\t3\tauto\ttc\t1\tdangling\\\n", 3, "bad escape sequence"),
            (good + "eth0\tlan\t3\tauto\ttc\t1\tunknown \\q\n", 3, "bad escape sequence"),
            (good + row + "\n" + "eth1\tlan\t3\tauto\tnone\t\t\u{0}\n" + "junk\n", 5, "expected 7 tab-separated fields, found 1"),
        ]
        for (text, line, message) in cases {
            do {
                let state = try RunState.decode(text)
                XCTFail("decoded \(state) from \(text.debugDescription)")
            } catch {
                XCTAssertEqual(error, RunStateError(line: line, message: message), text.debugDescription)
            }
        }
        XCTAssertEqual(RunStateError(line: 2, message: "bad mode").description, "state line 2: bad mode")
    }

    func testArbitraryBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("fastpath-state\t2\t\n\\tnr0123456789 auto tc none xdp-native kernel coarse_clock".utf8) + [0xff, 0x00]
        for _ in 0..<2000 {
            var bytes: [UInt8] = Array("fastpath-state\t2\t5\nkernel\t6.1\t1\n".utf8)
            for _ in 0..<Int.random(in: 0..<60, using: &generator) {
                bytes.append(alphabet.randomElement(using: &generator)!)
            }
            _ = try? RunState.decode(String(decoding: bytes, as: UTF8.self))
        }
    }
}
