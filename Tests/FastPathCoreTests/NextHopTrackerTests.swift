import XCTest
@testable import FastPathCore

final class NextHopTrackerTests: XCTestCase {
    let upstream = NextHopTracker.Gateway(ifindex: 2, address: [192, 0, 2, 1])
    let backup = NextHopTracker.Gateway(ifindex: 3, address: [198, 51, 100, 1])

    func testANewGatewayIsProbedOnceNotPerRoute() {
        var tracker = NextHopTracker()
        XCTAssertEqual(tracker.routeAdded(through: [upstream]), [upstream])
        for _ in 0..<1000 { XCTAssertEqual(tracker.routeAdded(through: [upstream]), []) }
        XCTAssertEqual(tracker.gateways, [upstream], "one entry for 1001 routes")
    }

    func testResolvedGatewaysAreNotProbedAndFailuresAre() {
        var tracker = NextHopTracker()
        _ = tracker.routeAdded(through: [upstream, backup])
        XCTAssertFalse(tracker.neighbourChanged(upstream, isValid: true))
        XCTAssertEqual(tracker.unresolved, [backup])
        XCTAssertTrue(tracker.neighbourChanged(upstream, isValid: false), "a failed gateway is probed again")
        XCTAssertEqual(Set(tracker.unresolved), [upstream, backup])
    }

    func testNeighboursOfNoRouteAreIgnored() {
        var tracker = NextHopTracker()
        XCTAssertFalse(tracker.neighbourChanged(upstream, isValid: false))
        XCTAssertEqual(tracker.unresolved, [])
    }

    func testLastRouteRemovedForgetsTheGateway() {
        var tracker = NextHopTracker()
        _ = tracker.routeAdded(through: [upstream])
        _ = tracker.routeAdded(through: [upstream])
        tracker.routeRemoved(through: [upstream])
        XCTAssertEqual(tracker.gateways, [upstream])
        tracker.routeRemoved(through: [upstream])
        XCTAssertEqual(tracker.gateways, [])
        XCTAssertEqual(tracker.routeAdded(through: [upstream]), [upstream], "new again")
    }
}
