import FastPathCore
import FastPathKernel

/// Log lines to standard error (procd sends them to the system log),
/// filtered by `option log_level`. One instance, shared by the daemon's
/// parts, so a reload's new level reaches all of them (and libbpf's own
/// warnings, shown at `debug`).
public final class Log {
    public var level: FastPathConfig.LogLevel {
        didSet { LibBPFLog.setWarningsVisible(level == .debug) }
    }

    public init(level: FastPathConfig.LogLevel = .info) {
        self.level = level
        LibBPFLog.setWarningsVisible(level == .debug)
    }

    private static func rank(_ level: FastPathConfig.LogLevel) -> Int {
        switch level {
        case .debug: return 0
        case .info: return 1
        case .notice: return 2
        case .warning: return 3
        case .error: return 4
        }
    }

    private func enabled(_ candidate: FastPathConfig.LogLevel) -> Bool {
        Log.rank(candidate) >= Log.rank(level)
    }

    public func write(_ candidate: FastPathConfig.LogLevel, _ message: String) {
        if enabled(candidate) { Console.error("fastpath: " + candidate.rawValue + ": " + message) }
    }

    public func debug(_ message: String) { write(.debug, message) }
    public func info(_ message: String) { write(.info, message) }
    public func notice(_ message: String) { write(.notice, message) }
    public func warning(_ message: String) { write(.warning, message) }
    public func error(_ message: String) { write(.error, message) }
}
