import Foundation
import CFastPathShim
import FastPathKernel

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
