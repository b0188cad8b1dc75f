import CTestSupport
import Glibc
@testable import FastPathKernel

/// An open network namespace (an fd on its nsfs file). `setns` changes the
/// namespace of the calling thread only: keep namespace-switching code on
/// one thread. Sockets and map updates resolve ifindexes in the namespace
/// current when they are made.
public struct NetworkNamespace: ~Copyable {
    private let descriptor: FileDescriptor
    /// The nsfs path it was opened from.
    public let path: String

    /// Opens the namespace at `path` (e.g. `/proc/1/ns/net`).
    public init(path: String) throws(FastPathError) {
        self.descriptor = try FileDescriptor.open(readOnly: path)
        self.path = path
    }

    /// The namespace `ip netns add NAME` created (`/run/netns/NAME`).
    public static func named(_ name: String) throws(FastPathError) -> NetworkNamespace {
        do throws(FastPathError) {
            return try NetworkNamespace(path: "/run/netns/" + name)
        } catch {
            var error = error
            error.operation = "open network namespace"
            if error.errno == ENOENT { error.hint = "create it with `ip netns add \(name)`" }
            throw error
        }
    }

    /// The calling thread's current namespace.
    public static func current() throws(FastPathError) -> NetworkNamespace {
        try NetworkNamespace(path: "/proc/thread-self/ns/net")
    }

    /// Moves the calling thread into this namespace.
    public func enter() throws(FastPathError) {
        let rc = fp_setns_net(descriptor.rawValue)
        if rc < 0 { throw FastPathError("enter network namespace", code: .errno(-rc), subject: path) }
    }

    /// Runs `body` with the calling thread in this namespace, then returns to
    /// the namespace it was in (also when `body` throws).
    public func run<R>(_ body: () throws(FastPathError) -> R) throws(FastPathError) -> R {
        let original = try NetworkNamespace.current()
        try enter()
        defer {
            // Not returning would leave the thread in the wrong namespace for
            // everything after: that is not recoverable.
            if fp_setns_net(original.descriptor.rawValue) < 0 {
                fatalError("cannot return to the original network namespace")
            }
        }
        return try body()
    }
}
