import XCTest
@testable import FastPathCore

/// Every transition of policy conntrack's admission: a direction enters
/// the fast path only when its entry is eligible and one of its own packets
/// proved it passes the current firewall.
final class AdmissionTests: XCTestCase {
    typealias Op = Admission.Operation
    let lan: UInt32 = 2, wan: UInt32 = 3
    let h1 = FlowMirrorTests.h1, h2 = FlowMirrorTests.h2, router = FlowMirrorTests.wan

    /// UDP h1:40000 → h2:5000, masqueraded as router:61000.
    func udp(assured: Bool = true) -> ConntrackEntry {
        FlowMirrorTests.entry(proto: 17, assured: assured, original: FlowMirrorTests.tuple(17, h1, 40000, h2, 5000),
                              reply: FlowMirrorTests.tuple(17, h2, 5000, router, 61000))
    }

    func tcp(state: UInt8 = ConntrackEntry.tcpEstablished) -> ConntrackEntry {
        FlowMirrorTests.entry(proto: 6, tcpState: state)
    }

    func admission(marks: Bool = true) -> Admission {
        var admission = Admission(marksSupported: marks)
        _ = admission.setInterfaces([lan, wan])
        return admission
    }

    var outbound: FlowDirection { FlowMirror.directions(of: udp())[0] }
    var inbound: FlowDirection { FlowMirror.directions(of: udp())[1] }
    let fromLAN = Admission.Proof(ingress: 2, egress: 3)
    let fromWAN = Admission.Proof(ingress: 3, egress: 2)

    func admitted(_ direction: FlowDirection, on ingress: UInt32) -> FlowKey {
        var key = direction.key
        key.ingress = ingress
        return key
    }

    func testANewEntryIsWatchedInBothDirectionsAndAdmitsNothing() {
        var admission = admission()
        XCTAssertEqual(admission.observe(udp(), reportedByEvent: true), [.watch(outbound.egress), .watch(inbound.egress)])
        XCTAssertTrue(admission.admittedKeys.isEmpty)
        XCTAssertEqual(Set(admission.awaitingProof), [outbound.egress, inbound.egress])
    }

    /// The review's finding: conntrack marks the reply ASSURED in
    /// prerouting, but the forward chain drops it, so it is never stamped
    /// and never admitted; the accepted direction is.
    func testOnlyTheDirectionThatPassedTheFirewallIsAdmitted() {
        var admission = admission()
        _ = admission.observe(udp(assured: false), reportedByEvent: true)
        XCTAssertEqual(admission.prove(outbound.egress, fromLAN), [], "not ASSURED yet")
        XCTAssertEqual(admission.observe(udp(), reportedByEvent: true), [
            .admit(admitted(outbound, on: lan), outbound.rewrite, snatEgress: wan, mark: 0),
            .unwatch(outbound.egress),
        ])
        XCTAssertEqual(admission.admittedKeys, [admitted(outbound, on: lan)])
        XCTAssertEqual(admission.awaitingProof, [inbound.egress], "the reply still waits")
    }

    func testBothDirectionsOnceBothAreProven() {
        var admission = admission()
        _ = admission.observe(udp(), reportedByEvent: true)
        _ = admission.prove(outbound.egress, fromLAN)
        XCTAssertEqual(admission.prove(inbound.egress, fromWAN), [
            .admit(admitted(inbound, on: wan), inbound.rewrite, snatEgress: 0, mark: 0), .unwatch(inbound.egress),
        ], "no source NAT on the way back: no egress to keep to")
        XCTAssertEqual(Set(admission.admittedKeys), [admitted(outbound, on: lan), admitted(inbound, on: wan)])
        XCTAssertFalse(admission.isAwaitingProof)
    }

    func testTCPIsMadeLiberalOnceWhenItsFirstDirectionIsAdmitted() {
        var admission = admission()
        let entry = tcp()
        let directions = FlowMirror.directions(of: entry)
        _ = admission.observe(entry, reportedByEvent: true)
        XCTAssertEqual(admission.prove(directions[0].egress, fromLAN).last, .beLiberal(entry.original, zone: 0))
        XCTAssertFalse(admission.prove(directions[1].egress, fromWAN).contains(.beLiberal(entry.original, zone: 0)))
    }

    /// An interface leaving policy conntrack takes the directions arriving
    /// on it off the fast path; they need a new proof to come back.
    func testAnInterfaceLeavingPolicyConntrackWithdrawsItsDirections() {
        var admission = admission()
        _ = admission.observe(udp(), reportedByEvent: true)
        _ = admission.prove(outbound.egress, fromLAN)
        XCTAssertEqual(admission.setInterfaces([wan]), [.withdraw(admitted(outbound, on: lan)), .rewatch(outbound.egress)])
        XCTAssertEqual(admission.setInterfaces([lan, wan]), [], "no proof left")
    }

    func testAMarkTheLookupsCannotCarryKeepsTheDirectionInTheKernel() {
        var without = admission(marks: false)
        _ = without.observe(udp(), reportedByEvent: true)
        XCTAssertEqual(without.prove(outbound.egress, .init(ingress: lan, egress: wan, mark: 0x100)), [.unwatch(outbound.egress)])
        XCTAssertEqual(without.keptForMark, 1)
        var with = admission(marks: true)
        _ = with.observe(udp(), reportedByEvent: true)
        XCTAssertEqual(with.prove(outbound.egress, .init(ingress: lan, egress: wan, mark: 0x100)).first,
                       .admit(admitted(outbound, on: lan), outbound.rewrite, snatEgress: wan, mark: 0x100))
    }

    /// After a ruleset change nothing stays admitted, and proofs stamped
    /// before it count no more: every direction is listed afresh.
    func testARulesetChangeWithdrawsEverythingAndAsksForNewProofs() {
        var admission = admission()
        _ = admission.observe(udp(), reportedByEvent: true)
        _ = admission.prove(outbound.egress, fromLAN)
        let operations = admission.rulesetChanged()
        XCTAssertEqual(operations, [.withdraw(admitted(outbound, on: lan)), .rewatch(outbound.egress), .watch(inbound.egress)])
        XCTAssertTrue(admission.admittedKeys.isEmpty)
        XCTAssertEqual(admission.observe(udp(), reportedByEvent: true), [], "an event alone admits nothing")
        XCTAssertEqual(admission.prove(outbound.egress, fromLAN).first,
                       .admit(admitted(outbound, on: lan), outbound.rewrite, snatEgress: wan, mark: 0))
    }

    func testForgettingWithdrawsAndStopsWatching() {
        var admission = admission()
        _ = admission.observe(udp(), reportedByEvent: true)
        _ = admission.prove(outbound.egress, fromLAN)
        XCTAssertEqual(admission.forget(udp().original), [.withdraw(admitted(outbound, on: lan)), .unwatch(inbound.egress)])
        XCTAssertEqual(admission.connectionCount, 0)
        XCTAssertEqual(admission.forget(udp().original), [])
    }

    func testDyingEntriesClosingTCPAndOtherProtocolsAreForgotten() {
        var admission = admission()
        let entry = tcp()
        _ = admission.observe(entry, reportedByEvent: true)
        _ = admission.prove(FlowMirror.directions(of: entry)[0].egress, fromLAN)
        let closing = admission.observe(tcp(state: 4 /* FIN_WAIT */), reportedByEvent: true)
        XCTAssertTrue(closing.contains(.withdraw(admitted(FlowMirror.directions(of: entry)[0], on: lan))))
        XCTAssertEqual(admission.connectionCount, 0)
        XCTAssertEqual(admission.observe(FlowMirrorTests.entry(proto: 1), reportedByEvent: true), [])
        XCTAssertEqual(admission.observe(FlowMirrorTests.entry(proto: 17, dying: true), reportedByEvent: true), [])
        XCTAssertEqual(admission.connectionCount, 0)
    }

    /// Entries seen only in a dump may never report their end: those with
    /// admitted directions are the ones to ask the kernel about.
    func testEntriesSeenOnlyInADumpAreAskedFor() {
        var admission = admission()
        _ = admission.observe(udp(), reportedByEvent: false)
        XCTAssertTrue(admission.silentAdmitted.isEmpty, "nothing admitted yet")
        _ = admission.prove(outbound.egress, fromLAN)
        XCTAssertEqual(admission.silentAdmitted.map { $0.original }, [udp().original])
        _ = admission.observe(udp(), reportedByEvent: true)
        XCTAssertTrue(admission.silentAdmitted.isEmpty, "an event shows it reports")
    }

    func testADumpForgetsWhatConntrackNoLongerHas() {
        var admission = admission()
        _ = admission.observe(udp(), reportedByEvent: false)
        _ = admission.prove(outbound.egress, fromLAN)
        XCTAssertEqual(admission.keepOnly([]), [.withdraw(admitted(outbound, on: lan)), .unwatch(inbound.egress)])
    }

    /// A restarted daemon adopts what its predecessor admitted under the
    /// same ruleset, when conntrack still has the connection; the rest goes.
    func testInheritedEntriesAreAdoptedOrDropped() {
        var admission = admission()
        let kept = admitted(outbound, on: lan)
        let otherNAT = admitted(inbound, on: wan)
        let stale = admitted(FlowMirror.directions(of: tcp())[0], on: lan)
        admission.inherit([(kept, outbound.rewrite), (otherNAT, FlowRewrite.none), (stale, FlowRewrite.none)])
        XCTAssertEqual(admission.observe(udp(), reportedByEvent: false), [.withdraw(otherNAT), .watch(inbound.egress)],
                       "an entry whose translation differs is not this connection's")
        XCTAssertEqual(admission.admittedKeys, [kept])
        XCTAssertEqual(admission.keepOnly([udp().original]), [.withdraw(stale)])
    }

    /// A proof from an interface outside policy conntrack is dropped and
    /// a fresh one awaited: it may come from the fast path's own packets.
    func testAProofFromOutsidePolicyConntrackIsDiscarded() {
        var admission = Admission(marksSupported: true)
        _ = admission.setInterfaces([wan])
        _ = admission.observe(udp(), reportedByEvent: true)
        XCTAssertEqual(admission.prove(outbound.egress, fromLAN), [.rewatch(outbound.egress)])
        XCTAssertEqual(admission.setInterfaces([lan, wan]), [], "the discarded proof admits nothing later")
        XCTAssertEqual(admission.prove(outbound.egress, fromLAN).first,
                       .admit(admitted(outbound, on: lan), outbound.rewrite, snatEgress: wan, mark: 0))
    }

    /// The same original tuple with another reply (the first connection's
    /// end was missed): its directions start over.
    func testAConnectionWithAnotherTranslationStartsOver() {
        var admission = admission()
        _ = admission.observe(udp(), reportedByEvent: true)
        _ = admission.prove(outbound.egress, fromLAN)
        let other = FlowMirrorTests.entry(proto: 17, original: udp().original,
                                          reply: FlowMirrorTests.tuple(17, h2, 5000, router, 62000))
        let operations = admission.observe(other, reportedByEvent: true)
        XCTAssertEqual(operations.first, .withdraw(admitted(outbound, on: lan)))
        XCTAssertTrue(operations.contains(.watch(FlowMirror.directions(of: other)[0].egress)))
        XCTAssertTrue(admission.admittedKeys.isEmpty)
    }

    func testAFullTableSendsTheDirectionBackToWaitForANewProof() {
        var admission = admission()
        _ = admission.observe(udp(), reportedByEvent: true)
        _ = admission.prove(outbound.egress, fromLAN)
        XCTAssertEqual(admission.admissionFailed(admitted(outbound, on: lan)), [.watch(outbound.egress)])
        XCTAssertTrue(admission.admittedKeys.isEmpty)
        XCTAssertEqual(admission.prove(outbound.egress, fromLAN).first,
                       .admit(admitted(outbound, on: lan), outbound.rewrite, snatEgress: wan, mark: 0))
    }
}
