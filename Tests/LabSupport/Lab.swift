import Foundation
import FastPathKernel

/// The repository root, found from this file's path.
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Runs commands for the tests; a failure throws with the command's stderr.
public enum Shell {
    public struct Failure: Error, CustomStringConvertible {
        public var command: [String]
        public var status: Int32
        public var stderr: String
        public var description: String { "\(command.joined(separator: " ")) exited \(status): \(stderr)" }
    }

    /// Runs `command`; a non-zero exit throws with its stderr.
    @discardableResult
    public static func run(_ command: [String]) throws -> String {
        let result = try Shell.result(command)
        guard result.status == 0 else { throw Failure(command: command, status: result.status, stderr: result.stderr) }
        return result.stdout
    }
}

extension Shell {
    /// What a command printed and how it exited, for commands whose failure is the point.
    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// What the command wrote to stderr, filled by the reading thread
    /// before the semaphore lets the caller read it.
    private final class ErrorOutput: @unchecked Sendable {
        var data = Data()
    }

    /// Runs `command` without throwing on a non-zero exit.
    public static func result(_ command: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // stderr is read on another thread so neither pipe can fill and block the command.
        let errors = ErrorOutput()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errors.data = err.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
                      stderr: String(decoding: errors.data, as: UTF8.self))
    }
}

/// The h1 – r – h2 namespace lab of `Tests/lab/lab.sh`, named after this
/// process's pid so parallel runs can't collide. `destroy()` removes it all.
public final class NamespaceLab {
    private static var created = 0
    public let prefix: String
    public var h1: String { prefix + "-h1" }
    public var router: String { prefix + "-r" }
    public var h2: String { prefix + "-h2" }

    public static let h1IPv4 = "192.0.2.1", h2IPv4 = "198.51.100.2"
    public static let h1IPv6 = "2001:db8:1::1", h2IPv6 = "2001:db8:2::2"
    public static let lanIPv4 = "192.0.2.254", wanIPv4 = "198.51.100.254"
    public static let lanIPv6 = "2001:db8:1::fe", wanIPv6 = "2001:db8:2::fe"

    private static var script: String { repositoryRoot + "/Tests/lab/lab.sh" }

    public init() throws {
        NamespaceLab.created += 1
        prefix = "fp\(getpid())n\(NamespaceLab.created)"
        try Shell.run(["sh", NamespaceLab.script, "up", prefix])
    }

    public func destroy() {
        _ = try? Shell.run(["sh", NamespaceLab.script, "down", prefix])
    }

    @discardableResult
    public func exec(_ namespace: String, _ command: String...) throws -> String {
        try Shell.run(["ip", "netns", "exec", namespace] + command)
    }

    @discardableResult
    public func exec(_ namespace: String, arguments command: [String]) throws -> String {
        try Shell.run(["ip", "netns", "exec", namespace] + command)
    }

    public func ifindex(_ namespace: String, _ device: String) throws -> UInt32 {
        let text = try exec(namespace, "cat", "/sys/class/net/\(device)/ifindex")
        return UInt32(text.trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    /// Runs `body` with this thread inside `namespace` (BPF test runs,
    /// devmap updates and sockets all bind to the thread's namespace).
    public func inside<R>(_ namespace: String, _ body: () throws -> R) throws -> R {
        let target = try NetworkNamespace.named(namespace)
        let home = try NetworkNamespace.current()
        try target.enter()
        defer { try! home.enter() }
        return try body()
    }
}
