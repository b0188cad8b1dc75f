import FastPathKernel
import Foundation
import LabSupport

// Helpers shared by the kernel-layer tests that build their own namespaces.

/// Runs kernel-layer calls in the network namespace `name` (its sockets stay bound there).
func inNamespace<R>(_ name: String, _ body: () throws(FastPathError) -> R) throws -> R {
    try NetworkNamespace.named(name).run(body)
}

/// The ifindex of `device` in namespace `name`.
func interfaceIndex(_ device: String, in name: String) throws -> UInt32 {
    let text = try Shell.run(["ip", "netns", "exec", name, "cat", "/sys/class/net/\(device)/ifindex"])
    guard let index = UInt32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
        throw FastPathError("no such network interface", subject: "\(device) in \(name)")
    }
    return index
}

/// Runs a command line, returns its output (throws when it fails).
@discardableResult
func shell(_ arguments: String...) throws -> String {
    try Shell.run(arguments)
}
