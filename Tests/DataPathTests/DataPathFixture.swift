import Foundation
import CFastPathShim
import FastPathKernel
// The namespace lab, Shell and UDPProbe (shared with ManagerTests), for every file of this target.
@_exported import LabSupport

extension DataPath {
    static var objectPath: String { repositoryRoot + "/build/bpf/fastpath.o" }

    /// The real object (`make bpf`), unpinned, with both families on.
    convenience init() throws {
        LibBPFLog.setWarningsVisible(false)
        try self.init(objectPath: DataPath.objectPath)
        try setFamilies(ipv4: true, ipv6: true)
    }

    func addInterface(ifindex: UInt32, mac: MAC, slot: UInt32, flags: UInt32 = FP_IFACE_POLICY_ROUTING) throws {
        try setInterface(InterfaceEntry(ifindex: ifindex, mac: mac, flags: flags, slot: slot))
    }
}

extension NamespaceLab {
    func mac(_ namespace: String, _ device: String) throws -> MAC {
        parseMAC(try exec(namespace, "cat", "/sys/class/net/\(device)/address")
            .trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
