import Foundation
import CFastPathShim
import FastPathCore
import FastPathKernel
// The namespace lab, Shell and UDPProbe (shared with ManagerTests), for every file of this target.
@_exported import LabSupport

extension DataPath {
    static var objectPath: String { repositoryRoot + "/build/bpf/fastpath.o" }

    /// Both families on, and a valve of a minute: no test waits that long.
    static let testSettings = DataPathSettings(ipv4: true, ipv6: true, valveMilliseconds: 60_000)

    /// The real object (`make bpf`), unpinned, with `testSettings` and
    /// every optional capability the kernel has but `turnedOff`.
    convenience init(turnedOff: Set<KernelCapability> = []) throws {
        LibBPFLog.setWarningsVisible(false)
        try self.init(objectPath: DataPath.objectPath, turnedOff: turnedOff)
        try apply(DataPath.testSettings)
    }

    func addInterface(ifindex: UInt32, mac: MAC, slot: UInt32, flags: InterfaceFlags = .policyRouting) throws {
        try setInterface(ifindex: ifindex, InterfaceEntry(mac: mac, slot: slot, flags: flags))
    }
}

extension NamespaceLab {
    func mac(_ namespace: String, _ device: String) throws -> MAC {
        parseMAC(try exec(namespace, "cat", "/sys/class/net/\(device)/address")
            .trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// The router's two ports and the hosts' MACs, read from the kernel.
struct LabPorts {
    var lanIndex: UInt32, wanIndex: UInt32
    var lanMAC: MAC, wanMAC: MAC, h1MAC: MAC, h2MAC: MAC

    init(_ lab: NamespaceLab) throws {
        lanIndex = try lab.ifindex(lab.router, "lan0")
        wanIndex = try lab.ifindex(lab.router, "wan0")
        lanMAC = try lab.mac(lab.router, "lan0")
        wanMAC = try lab.mac(lab.router, "wan0")
        h1MAC = try lab.mac(lab.h1, "eth0")
        h2MAC = try lab.mac(lab.h2, "eth0")
    }

    var all: (UInt32, UInt32, MAC, MAC, MAC, MAC) { (lanIndex, wanIndex, lanMAC, wanMAC, h1MAC, h2MAC) }
}
