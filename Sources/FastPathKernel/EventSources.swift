import CFastPathShim

/// HUP, INT and TERM as a file descriptor for the poll loop (signalfd):
/// the signals are blocked and read as events, never handled async.
public final class SignalEvents {
    public enum Signal: Equatable { case hangup, interrupt, terminate, other(Int32) }

    public let fileDescriptor: Int32

    public init() throws(FastPathError) {
        let fd = fp_signalfd_open()
        try check(fd, "open signalfd", subject: nil)
        fileDescriptor = fd
    }

    deinit { _ = fp_close(fileDescriptor) }

    /// The signals that arrived since the last call.
    public func drain() -> [Signal] {
        var signals: [Signal] = []
        while true {
            let number = fp_signalfd_read(fileDescriptor)
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
public final class OneShotTimer {
    public let fileDescriptor: Int32

    public init() throws(FastPathError) {
        let fd = fp_timerfd_open()
        try check(fd, "open timerfd", subject: nil)
        fileDescriptor = fd
    }

    deinit { _ = fp_close(fileDescriptor) }

    /// Fires once after `milliseconds` (replacing any earlier arming).
    public func arm(milliseconds: UInt64) {
        _ = fp_timerfd_arm(fileDescriptor, max(milliseconds, 1))
    }

    public func disarm() {
        _ = fp_timerfd_arm(fileDescriptor, 0)
    }

    /// Consumes an expiry; true if the timer fired.
    public func consume() -> Bool {
        fp_timerfd_read(fileDescriptor) > 0
    }
}

/// poll(2) over a few descriptors, waiting for input.
public enum Poller {
    /// Blocks until one of `descriptors` is readable (or `timeoutMilliseconds`
    /// passes, -1 = forever); returns which are. EINTR returns all false.
    public static func wait(_ descriptors: [Int32], timeoutMilliseconds: Int32 = -1) throws(FastPathError) -> [Bool] {
        var ready = [UInt8](repeating: 0, count: descriptors.count)
        let rc = descriptors.withUnsafeBufferPointer { fds in
            ready.withUnsafeMutableBufferPointer { out in
                fp_poll_fds(fds.baseAddress, out.baseAddress, Int32(descriptors.count), timeoutMilliseconds)
            }
        }
        try check(rc, "poll", subject: nil)
        return ready.map { $0 != 0 }
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
