import Foundation
import CFastPathShim
import FastPathKernel

/// The real BPF object (`build/bpf/fastpath.o`) loaded into the kernel, with
/// typed access to its maps, set up the way the manager sets it up.
final class DataPath {
    let object: BPFObject
    let xdp: BPFProgram
    let tc: BPFProgram
    let config: BPFMap
    let interfaces: BPFMap
    let stats: BPFMap
    let devmap: BPFMap
    let vlans: BPFMap
    let localAddresses: BPFMap

    static var objectPath: String { repositoryRoot + "/build/bpf/fastpath.o" }

    init() throws {
        LibBPFLog.setWarningsVisible(false)
        object = try BPFObject(path: DataPath.objectPath)
        xdp = try object.program(named: FP_PROG_XDP)
        tc = try object.program(named: FP_PROG_TC)
        config = try object.map(named: FP_MAP_CONFIG)
        interfaces = try object.map(named: FP_MAP_IFACES)
        stats = try object.map(named: FP_MAP_STATS)
        devmap = try object.map(named: FP_MAP_DEVMAP)
        vlans = try object.map(named: FP_MAP_VLANS)
        localAddresses = try object.map(named: FP_MAP_LOCAL_ADDRS)
        try setFamilies(ipv4: true, ipv6: true)
    }

    func setFamilies(ipv4: Bool, ipv6: Bool) throws {
        let flags = (ipv4 ? FP_CONFIG_IPV4 : 0) | (ipv6 ? FP_CONFIG_IPV6 : 0)
        try config.update(key: UInt32(0), value: fp_config(flags: flags, reserved: 0))
    }

    func addInterface(ifindex: UInt32, mac: MAC, slot: UInt32,
                      flags: UInt32 = FP_IFACE_POLICY_ROUTING) throws {
        var value = fp_iface()
        value.mac = (mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
        value.flags = UInt16(flags)
        value.slot = slot
        try interfaces.update(key: ifindex, value: value)
    }

    /// Lists `ifindex` as an XDP redirect target; call inside the namespace
    /// that owns the device (the kernel resolves it there).
    func addRedirectTarget(ifindex: UInt32) throws {
        try devmap.update(key: ifindex, value: fp_devmap_val(ifindex: ifindex, prog_fd: 0))
    }

    func addVLAN(lower: UInt32, proto: UInt16, vid: UInt16, device: UInt32) throws {
        let key = fp_vlan_key(ifindex: lower, proto: proto.bigEndian, vid: vid)
        try vlans.update(key: key, value: fp_vlan_val(ifindex: device))
    }

    func addLocalAddress(_ address: [UInt8], ifindex: UInt32) throws {
        let mapped = address.count == 4 ? [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + address : address
        var key = fp_addr()
        withUnsafeMutableBytes(of: &key.addr) { $0.copyBytes(from: mapped) }
        try localAddresses.update(key: key, value: ifindex)
    }

    func counters(slot: UInt32) throws -> InterfaceCounters {
        InterfaceCounters(summing: try stats.lookupPerCPU(key: slot, as: fp_stats.self))
    }
}
