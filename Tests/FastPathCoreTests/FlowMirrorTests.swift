import XCTest
@testable import FastPathCore

final class FlowMirrorTests: XCTestCase {
    let h1: [UInt8] = [192, 0, 2, 1], h2: [UInt8] = [198, 51, 100, 2], wan: [UInt8] = [198, 51, 100, 254]

    func connection(proto: UInt8 = 6, assured: Bool = true, established: Bool = true, dying: Bool = false,
                    original: TrackedConnection.Tuple? = nil, reply: TrackedConnection.Tuple? = nil) -> TrackedConnection {
        TrackedConnection(family: 4, proto: proto,
                          original: original ?? .init(source: h1, destination: h2, sourcePort: 40000, destinationPort: 80),
                          reply: reply ?? .init(source: h2, destination: h1, sourcePort: 80, destinationPort: 40000),
                          isAssured: assured, isTCPEstablished: established, isDying: dying)
    }

    func testEligibility() {
        XCTAssertTrue(FlowMirror.isEligible(connection()))
        XCTAssertFalse(FlowMirror.isEligible(connection(established: false)), "TCP must be ESTABLISHED")
        XCTAssertFalse(FlowMirror.isEligible(connection(assured: false)), "and ASSURED")
        XCTAssertTrue(FlowMirror.isEligible(connection(proto: 17, established: false)), "UDP once ASSURED")
        XCTAssertFalse(FlowMirror.isEligible(connection(proto: 17, assured: false)))
        XCTAssertFalse(FlowMirror.isEligible(connection(proto: 1)), "ICMP never")
        XCTAssertFalse(FlowMirror.isEligible(connection(dying: true)))
    }

    func testRoutedFlowHasNoRewrite() {
        let entries = FlowMirror.entries(of: connection(), originalIngress: 2, replyIngress: 3)
        XCTAssertEqual(entries[0].key, FlowKey(family: 4, proto: 6, source: h1, destination: h2,
                                               sourcePort: 40000, destinationPort: 80, ingress: 2))
        XCTAssertEqual(entries[0].rewrite, .none)
        XCTAssertEqual(entries[1].key, FlowKey(family: 4, proto: 6, source: h2, destination: h1,
                                               sourcePort: 80, destinationPort: 40000, ingress: 3))
        XCTAssertEqual(entries[1].rewrite, .none)
    }

    /// Masquerade: h1:40000 → h2:80 leaves as wan:61000; replies to
    /// wan:61000 go back to h1:40000.
    func testMasqueradeIsSourceNATOutAndDestinationNATBack() {
        let entries = FlowMirror.entries(
            of: connection(reply: .init(source: h2, destination: wan, sourcePort: 80, destinationPort: 61000)),
            originalIngress: 2, replyIngress: 3)
        XCTAssertEqual(entries[0].rewrite, FlowRewrite(source: .init(address: wan, port: 61000)))
        XCTAssertEqual(entries[1].key.destination, wan)
        XCTAssertEqual(entries[1].key.destinationPort, 61000)
        XCTAssertEqual(entries[1].rewrite, FlowRewrite(destination: .init(address: h1, port: 40000)))
    }

    /// A port forward: h2 → wan:8080 goes to h1:80; replies leave as wan:8080.
    func testPortForwardIsDestinationNATInAndSourceNATBack() {
        let entries = FlowMirror.entries(
            of: connection(original: .init(source: h2, destination: wan, sourcePort: 50000, destinationPort: 8080),
                           reply: .init(source: h1, destination: h2, sourcePort: 80, destinationPort: 50000)),
            originalIngress: 3, replyIngress: 2)
        XCTAssertEqual(entries[0].rewrite, FlowRewrite(destination: .init(address: h1, port: 80)))
        XCTAssertEqual(entries[1].rewrite, FlowRewrite(source: .init(address: wan, port: 8080)))
    }

    /// After a ruleset change the egress program recognises each direction
    /// by how it leaves: translated, on the other direction's ingress.
    func testEgressViewIsTheTranslatedTupleOnTheWayOut() {
        let entries = FlowMirror.entries(
            of: connection(reply: .init(source: h2, destination: wan, sourcePort: 80, destinationPort: 61000)),
            originalIngress: 2, replyIngress: 3)
        XCTAssertEqual(entries[0].egress,
                       FlowKey(family: 4, proto: 6, source: wan, destination: h2,
                               sourcePort: 61000, destinationPort: 80, ingress: 3))
        XCTAssertEqual(entries[1].egress,
                       FlowKey(family: 4, proto: 6, source: h2, destination: h1,
                               sourcePort: 80, destinationPort: 40000, ingress: 2))
    }
}
