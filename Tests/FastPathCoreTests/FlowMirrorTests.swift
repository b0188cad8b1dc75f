import XCTest
@testable import FastPathCore

final class FlowMirrorTests: XCTestCase {
    static let h1: [UInt8] = [192, 0, 2, 1], h2: [UInt8] = [198, 51, 100, 2], wan: [UInt8] = [198, 51, 100, 254]
    let h1 = FlowMirrorTests.h1, h2 = FlowMirrorTests.h2, wan = FlowMirrorTests.wan

    /// A conntrack entry h1:40000 → h2:80 (TCP unless `proto` says otherwise).
    static func entry(proto: UInt8 = 6, assured: Bool = true, tcpState: UInt8? = ConntrackEntry.tcpEstablished,
                      dying: Bool = false, original: ConntrackTuple? = nil, reply: ConntrackTuple? = nil) -> ConntrackEntry {
        var status: UInt32 = ConntrackEntry.statusConfirmed
        if assured { status |= ConntrackEntry.statusAssured | ConntrackEntry.statusSeenReply }
        if dying { status |= ConntrackEntry.statusDying }
        return ConntrackEntry(original: original ?? tuple(proto, h1, 40000, h2, 80),
                              reply: reply ?? tuple(proto, h2, 80, h1, 40000),
                              status: status, tcpState: proto == 6 ? tcpState : nil)
    }

    static func tuple(_ proto: UInt8, _ source: [UInt8], _ sourcePort: UInt16, _ destination: [UInt8],
                      _ destinationPort: UInt16) -> ConntrackTuple {
        ConntrackTuple(family: 4, proto: proto, source: source, destination: destination,
                       sourcePort: sourcePort, destinationPort: destinationPort)
    }

    func key(_ source: [UInt8], _ sourcePort: UInt16, _ destination: [UInt8], _ destinationPort: UInt16,
             proto: UInt8 = 6) -> FlowKey {
        FlowKey(ConntrackTuple(family: 4, proto: proto, source: source, destination: destination,
                               sourcePort: sourcePort, destinationPort: destinationPort), ingress: 0)
    }

    func testEligibility() {
        XCTAssertTrue(FlowMirror.isEligible(Self.entry()))
        XCTAssertFalse(FlowMirror.isEligible(Self.entry(tcpState: 2)), "TCP must be ESTABLISHED")
        XCTAssertFalse(FlowMirror.isEligible(Self.entry(assured: false)), "and ASSURED")
        XCTAssertTrue(FlowMirror.isEligible(Self.entry(proto: 17)), "UDP once ASSURED")
        XCTAssertFalse(FlowMirror.isEligible(Self.entry(proto: 17, assured: false)))
        XCTAssertFalse(FlowMirror.isEligible(Self.entry(proto: 1)), "ICMP never")
        XCTAssertFalse(FlowMirror.isEligible(Self.entry(dying: true)))
    }

    func testRoutedFlowHasNoRewrite() {
        let directions = FlowMirror.directions(of: Self.entry())
        XCTAssertEqual(directions[0].key, key(h1, 40000, h2, 80))
        XCTAssertEqual(directions[0].rewrite, FlowRewrite.none)
        XCTAssertEqual(directions[0].egress, directions[0].key, "leaves as it came")
        XCTAssertEqual(directions[1].key, key(h2, 80, h1, 40000))
        XCTAssertEqual(directions[1].rewrite, FlowRewrite.none)
    }

    /// Masquerade: h1:40000 → h2:80 leaves as wan:61000; replies to
    /// wan:61000 go back to h1:40000.
    func testMasqueradeIsSourceNATOutAndDestinationNATBack() {
        let directions = FlowMirror.directions(of: Self.entry(reply: Self.tuple(6, h2, 80, wan, 61000)))
        XCTAssertEqual(directions[0].rewrite, FlowRewrite(source: .init(address: wan, port: 61000)))
        XCTAssertEqual(directions[0].egress, key(wan, 61000, h2, 80))
        XCTAssertEqual(directions[1].key, key(h2, 80, wan, 61000))
        XCTAssertEqual(directions[1].rewrite, FlowRewrite(destination: .init(address: h1, port: 40000)))
        XCTAssertEqual(directions[1].egress, key(h2, 80, h1, 40000))
    }

    /// A port forward: h2 → wan:8080 goes to h1:80; replies leave as wan:8080.
    func testPortForwardIsDestinationNATInAndSourceNATBack() {
        let directions = FlowMirror.directions(of: Self.entry(original: Self.tuple(6, h2, 50000, wan, 8080),
                                                              reply: Self.tuple(6, h1, 80, h2, 50000)))
        XCTAssertEqual(directions[0].rewrite, FlowRewrite(destination: .init(address: h1, port: 80)))
        XCTAssertEqual(directions[0].egress, key(h2, 50000, h1, 80))
        XCTAssertEqual(directions[1].rewrite, FlowRewrite(source: .init(address: wan, port: 8080)))
        XCTAssertEqual(directions[1].egress, key(wan, 8080, h2, 50000))
    }
}
