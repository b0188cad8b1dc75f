import CFastPathShim

/// HUP, INT and TERM as a file descriptor for the poll loop (signalfd):
/// the signals are blocked and read as events, never handled async.
public final class SignalEvents: Pollable {
    public enum Signal: Equatable { case hangup, interrupt, terminate, other(Int32) }

    private let descriptor: FileDescriptor

    public init() throws(FastPathError) {
        let fd = fp_signalfd_open()
        try check(fd, "open signalfd", subject: nil)
        descriptor = FileDescriptor(adopting: fd)
    }

    public var pollDescriptor: PollDescriptor { PollDescriptor(descriptor.rawValue) }

    /// The signals that arrived since the last call.
    public func drain() -> [Signal] {
        var signals: [Signal] = []
        while true {
            let number = fp_signalfd_read(descriptor.rawValue)
            guard number > 0 else { return signals }
            switch number {
            case FP_SIGHUP: signals.append(.hangup)
            case FP_SIGINT: signals.append(.interrupt)
            case FP_SIGTERM: signals.append(.terminate)
            default: signals.append(.other(number))
            }
        }
    }
}

/// One timer for the poll loop (timerfd, CLOCK_MONOTONIC). Armed only when
/// there is something to do later, so an idle daemon never wakes up.
public final class OneShotTimer: Pollable {
    private let descriptor: FileDescriptor

    public init() throws(FastPathError) {
        let fd = fp_timerfd_open()
        try check(fd, "open timerfd", subject: nil)
        descriptor = FileDescriptor(adopting: fd)
    }

    public var pollDescriptor: PollDescriptor { PollDescriptor(descriptor.rawValue) }

    /// Fires once after `milliseconds` (replacing any earlier arming).
    public func arm(milliseconds: UInt64) {
        _ = fp_timerfd_arm(descriptor.rawValue, max(milliseconds, 1))
    }

    public func disarm() {
        _ = fp_timerfd_arm(descriptor.rawValue, 0)
    }

    /// Consumes an expiry; true if the timer fired.
    public func consume() -> Bool {
        fp_timerfd_read(descriptor.rawValue) > 0
    }
}

/// An owner of a descriptor the poll loop waits on for input: an event
/// socket, the signalfd, the timerfd.
public protocol Pollable {
    var pollDescriptor: PollDescriptor { get }
}

/// A descriptor lent to `Poller` by its owner; its number stays inside
/// FastPathKernel.
public struct PollDescriptor {
    let rawValue: Int32

    init(_ rawValue: Int32) { self.rawValue = rawValue }
}

/// poll(2) over a few owners, waiting for input. The owners must outlive
/// the `wait`.
public struct Poller {
    private var descriptors: [Int32] = []

    public init() {}

    public mutating func watch<Source: Pollable>(_ source: Source) {
        descriptors.append(source.pollDescriptor.rawValue)
    }

    /// Blocks until a watched owner is readable (or `timeoutMilliseconds`
    /// passes, -1 = forever). EINTR returns with none ready.
    public func wait(timeoutMilliseconds: Int32 = -1) throws(FastPathError) -> Readiness {
        var ready = [UInt8](repeating: 0, count: descriptors.count)
        let rc = descriptors.withUnsafeBufferPointer { fds in
            ready.withUnsafeMutableBufferPointer { out in
                fp_poll_fds(fds.baseAddress, out.baseAddress, Int32(fds.count), timeoutMilliseconds)
            }
        }
        try check(rc, "poll", subject: nil)
        var readable: [Int32] = []
        for (index, flag) in ready.enumerated() where flag != 0 { readable.append(descriptors[index]) }
        return Readiness(readable: readable)
    }

    /// Which owners a `wait` found readable.
    public struct Readiness {
        let readable: [Int32]

        public func contains<Source: Pollable>(_ source: Source) -> Bool {
            readable.contains(source.pollDescriptor.rawValue)
        }
    }
}

/// The monotonic clock, for timestamps and timeouts.
public enum MonotonicClock {
    public static var milliseconds: UInt64 { fp_monotonic_ms() }

    /// The clock bpf_ktime_get_ns reads (bpf_ktime_get_coarse_ns lags it
    /// by up to a tick).
    public static var nanoseconds: UInt64 { fp_monotonic_ns() }

    /// The clock bpf_ktime_get_coarse_ns reads.
    public static var coarseNanoseconds: UInt64 { fp_monotonic_coarse_ns() }

    public static func sleep(milliseconds: UInt32) { fp_sleep_ms(milliseconds) }
}
