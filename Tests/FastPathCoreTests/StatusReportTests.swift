import XCTest
@testable import FastPathCore

final class StatusReportTests: XCTestCase {
    private static let complete = CapabilityReport(kernelRelease: "6.1.0-57-amd64")
    private static let degraded = CapabilityReport(kernelRelease: "6.18.44-fc-v1300", degraded: [
        .init(.xdpTCHandoff, why: "kernel refuses bpf_xdp_adjust_meta in xdp programs"),
    ])

    private let sample = StatusReport(interfaces: [
        InterfaceStatus(name: "br-lan", ifindex: 6, requested: "auto", mode: .xdpNative, reason: "",
                        forwardedPackets: 1200, forwardedBytes: 1_500_000,
                        passed: [PassCount(reason: "not_ip", count: 7), PassCount(reason: "no_neigh", count: 30)]),
        InterfaceStatus(name: "wlan0", ifindex: 9, requested: "native", mode: .tc,
                        reason: "driver has no native XDP; using tc",
                        forwardedPackets: 34, forwardedBytes: 4096, passed: []),
        InterfaceStatus(name: "eth9", ifindex: 0, requested: "auto", mode: .none, reason: "waiting for device"),
    ], capabilities: degraded)

    func testJSONIsExact() {
        XCTAssertEqual(sample.json(), """
            {"interfaces":[\
            {"name":"br-lan","ifindex":6,"requested":"auto","mode":"xdp-native","reason":"",\
            "forwarded_packets":1200,"forwarded_bytes":1500000,"passed":{"not_ip":7,"no_neigh":30}},\
            {"name":"wlan0","ifindex":9,"requested":"native","mode":"tc",\
            "reason":"driver has no native XDP; using tc",\
            "forwarded_packets":34,"forwarded_bytes":4096,"passed":{}},\
            {"name":"eth9","ifindex":0,"requested":"auto","mode":"none","reason":"waiting for device",\
            "forwarded_packets":0,"forwarded_bytes":0,"passed":{}}],\
            "totals":{"forwarded_packets":1234,"forwarded_bytes":1504096},\
            "kernel":{"release":"6.18.44-fc-v1300","degraded":[{"capability":"xdp_tc_handoff",\
            "reason":"kernel refuses bpf_xdp_adjust_meta in xdp programs","effect":"TC repeats the route lookup"}]}}
            """)
        XCTAssertEqual(StatusReport(interfaces: [], capabilities: Self.complete).json(),
                       #"{"interfaces":[],"totals":{"forwarded_packets":0,"forwarded_bytes":0},"#
                       + #""kernel":{"release":"6.1.0-57-amd64","degraded":[]}}"#)
    }

    func testJSONParsesBack() throws {
        let object = try JSONSerialization.jsonObject(with: Data(sample.json().utf8)) as? [String: Any]
        let interfaces = object?["interfaces"] as? [[String: Any]]
        XCTAssertEqual(interfaces?.count, 3)
        XCTAssertEqual((interfaces?[0]["passed"] as? [String: Int])?["no_neigh"], 30)
    }

    func testStringEscaping() throws {
        XCTAssertEqual(JSONWriter.quoted("plain"), #""plain""#)
        XCTAssertEqual(JSONWriter.quoted(#"say "hi" \o/"#), #""say \"hi\" \\o/""#)
        XCTAssertEqual(JSONWriter.quoted("a\tb\nc\r\u{0}\u{1f}\u{7f}"), #""a\u0009b\u000ac\u000d\u0000\u001f"# + "\u{7f}\"")
        XCTAssertEqual(JSONWriter.quoted("grüße ✓"), "\"grüße ✓\"")
        XCTAssertEqual(JSONWriter.quoted("/"), #""/""#)

        let nasty = "refused: \"bad\"\n\\path\t\u{1}"
        let report = StatusReport(interfaces: [InterfaceStatus(name: "e\"th", ifindex: 1, requested: "auto",
                                                               mode: .tc, reason: nasty)],
                                  capabilities: Self.complete)
        let object = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any]
        let first = (object?["interfaces"] as? [[String: Any]])?.first
        XCTAssertEqual(first?["reason"] as? String, nasty)
        XCTAssertEqual(first?["name"] as? String, "e\"th")
    }

    func testTotalsSumAndDoNotTrap() {
        XCTAssertEqual(sample.totalForwardedPackets, 1234)
        XCTAssertEqual(sample.totalForwardedBytes, 1_504_096)
        let huge = StatusReport(interfaces: [
            InterfaceStatus(name: "a", ifindex: 1, requested: "tc", mode: .tc, reason: "", forwardedPackets: .max),
            InterfaceStatus(name: "b", ifindex: 2, requested: "tc", mode: .tc, reason: "", forwardedPackets: 2),
        ], capabilities: Self.complete)
        XCTAssertEqual(huge.totalForwardedPackets, 1)
    }

    func testTopPassedIsLargestFirstWithoutZeros() {
        let status = InterfaceStatus(name: "a", ifindex: 1, requested: "tc", mode: .tc, reason: "", passed: [
            PassCount(reason: "not_ip", count: 5), PassCount(reason: "ttl", count: 0),
            PassCount(reason: "local", count: 9), PassCount(reason: "martian", count: 5),
            PassCount(reason: "no_route", count: 1),
        ])
        XCTAssertEqual(status.topPassed(3).map { $0.reason }, ["local", "not_ip", "martian"])
        XCTAssertEqual(status.topPassed(10).count, 4)
    }

    func testTableIsAligned() {
        let table = sample.table()
        XCTAssertEqual(table, """
            INTERFACE  IFINDEX  REQUESTED  MODE        FWD PKTS  FWD BYTES  TOP PASS REASONS      REASON
            br-lan           6  auto       xdp-native      1200    1500000  no_neigh=30 not_ip=7
            wlan0            9  native     tc                34       4096  -                     driver has no native XDP; using tc
            eth9             -  auto       none               0          0  -                     waiting for device
            total                                          1234    1504096
            kernel 6.18.44-fc-v1300: degraded
              xdp-tc handoff: off (kernel refuses bpf_xdp_adjust_meta in xdp programs); TC repeats the route lookup

            """)
        XCTAssertTrue(StatusReport(interfaces: [], capabilities: Self.complete).table()
            .hasSuffix("\nkernel 6.1.0-57-amd64: every optional capability in use\n"))
        let lines = Array(table.split(separator: "\n").prefix(5))
        XCTAssertEqual(lines.count, 5)
        for line in lines {
            XCTAssertFalse(line.hasSuffix(" "), "no trailing spaces: \(line)")
        }
        // Left-aligned columns start where their header does; right-aligned ones end there.
        let header = Array(lines[0])
        let modeStart = header.firstIndex(of: "M")!
        let bytesEnd = String(header).range(of: "FWD BYTES")!.upperBound.utf16Offset(in: String(header))
        for line in lines.dropFirst() {
            let chars = Array(line)
            XCTAssertEqual(chars[bytesEnd - 1].isNumber, true, String(line))
            if line.hasPrefix("total") {
                XCTAssertEqual(chars.count, bytesEnd, "the totals line ends with the bytes column")
                continue
            }
            XCTAssertEqual(chars[bytesEnd], " ", String(line))
            XCTAssertEqual(chars[modeStart - 1], " ", String(line))
            XCTAssertNotEqual(chars[modeStart], " ", String(line))
        }
    }
}
