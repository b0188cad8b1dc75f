import FastPathKernel
import LabSupport

// Helpers shared by the kernel-layer tests that build their own namespaces.

/// Runs kernel-layer calls in the network namespace `name` (its sockets stay bound there).
func inNamespace<R>(_ name: String, _ body: () throws(FastPathError) -> R) throws -> R {
    try NetworkNamespace.named(name).run(body)
}

/// The ifindex of `device` in namespace `name`.
func interfaceIndex(_ device: String, in name: String) throws -> UInt32 {
    try inNamespace(name) { () throws(FastPathError) in try NetworkInterface(name: device).index }
}

/// Runs a command line, returns its output (throws when it fails).
@discardableResult
func shell(_ arguments: String...) throws -> String {
    try Shell.run(arguments)
}
