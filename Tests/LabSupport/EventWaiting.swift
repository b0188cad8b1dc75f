import Foundation
import XCTest
import FastPathKernel

/// A monitor the tests can wait on: the netlink event sources of the kernel layer.
public protocol PollableEventSource: Pollable {
    associatedtype Event
    func receive() throws(FastPathError) -> [Event]
}

extension RouteNetlinkMonitor: PollableEventSource {}
extension ConntrackMonitor: PollableEventSource {}

/// Receives until an event matches (returns everything seen, in order) or
/// `timeout` passes (fails the test).
public func waitFor<Source: PollableEventSource>(_ source: Source, timeout: TimeInterval = 5,
                                                 file: StaticString = #filePath, line: UInt = #line,
                                                 _ match: (Source.Event) -> Bool) throws -> [Source.Event] {
    var seen: [Source.Event] = []
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let remaining = deadline.timeIntervalSinceNow
        if remaining <= 0 { break }
        var poller = Poller()
        poller.watch(source)
        if try poller.wait(timeoutMilliseconds: Int32(remaining * 1000) + 1).contains(source) {
            let events = try source.receive()
            seen += events
            if events.contains(where: match) { return seen }
        }
    }
    XCTFail("no matching event within \(timeout) s; saw \(seen)", file: file, line: line)
    return seen
}
