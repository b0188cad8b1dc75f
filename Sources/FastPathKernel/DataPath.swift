import CFastPathShim
import FastPathCore

/// The fastpath BPF object in the kernel: its two programs and typed access
/// to its maps (bpf/fastpath.h). With a pin directory the maps are pinned
/// there and reused by the next load, which is how a restarted daemon adopts
/// the running state and how the CLI reads counters.
public final class DataPath {
    public let object: BPFObject
    /// The kernel's release and the optional capabilities left off.
    public let capabilities: CapabilityReport
    public let xdp: BPFProgram
    public let tc: BPFProgram
    /// Clsact egress: stamps fp_rechecks (policy conntrack, after a ruleset change).
    public let tcEgress: BPFProgram
    public let config: BPFMap<UInt32, fp_config>
    /// `fp_ifaces` (indexed by ifindex) and `fp_ifaces_high` (the rest).
    public let interfaces: BPFMap<UInt32, fp_iface>
    public let interfacesHigh: BPFMap<UInt32, fp_iface>
    public let stats: StatsMap
    public let devmap: BPFMap<UInt32, fp_devmap_val>
    public let vlans: BPFMap<fp_vlan_key, fp_vlan_val>
    public let localAddresses: BPFMap<fp_addr, UInt32>
    public let flows: BPFMap<fp_flow_key, fp_flow>
    public let rechecks: BPFMap<fp_flow_key, fp_recheck>

    /// `fp_stats`: per-CPU counters by interface slot.
    public typealias StatsMap = PerCPUBPFMap<UInt32, fp_stats>

    /// Loads `objectPath` (e.g. `/usr/lib/fastpath/fastpath.o`) with every
    /// optional capability the kernel allows except `turnedOff`; `maxFlows`
    /// sizes the flow table (`option max_flows`).
    public init(objectPath: String, pinDirectory: String? = nil, maxFlows: UInt32? = nil,
                turnedOff: Set<KernelCapability> = []) throws(FastPathError) {
        var sizes: [String: UInt32] = [:]
        if let maxFlows {
            sizes[FP_MAP_FLOWS] = maxFlows
            sizes[FP_MAP_RECHECKS] = maxFlows
        }
        (object, capabilities) = try CapabilityLoader.load(path: objectPath, pinDirectory: pinDirectory,
                                                           maxEntries: sizes, turnedOff: turnedOff)
        xdp = try object.program(named: FP_PROG_XDP)
        tc = try object.program(named: FP_PROG_TC)
        tcEgress = try object.program(named: FP_PROG_TC_EGRESS)
        config = try object.map(named: FP_MAP_CONFIG)
        interfaces = try object.map(named: FP_MAP_IFACES)
        interfacesHigh = try object.map(named: FP_MAP_IFACES_HIGH)
        stats = try object.perCPUMap(named: FP_MAP_STATS)
        devmap = try object.map(named: FP_MAP_DEVMAP)
        vlans = try object.map(named: FP_MAP_VLANS)
        localAddresses = try object.map(named: FP_MAP_LOCAL_ADDRS)
        flows = try object.map(named: FP_MAP_FLOWS)
        rechecks = try object.map(named: FP_MAP_RECHECKS)
    }

    /// The kernel id of each pinned map, by name.
    public var pinnedMapIDs: [String: UInt32] {
        var ids: [String: UInt32] = [:]
        for map in [config.info, interfaces.info, interfacesHigh.info, stats.info, devmap.info, vlans.info,
                    localAddresses.info, flows.info, rechecks.info] {
            ids[map.name] = map.id
        }
        return ids
    }

    /// Pinned maps of another shape this load replaced (see `BPFObject`).
    public var replacedPins: [BPFObject.ReplacedPin] { object.replacedPins }

    /// The program names fastpath attaches: what `detach` looks for.
    public static var programNames: [String] { [FP_PROG_XDP, FP_PROG_TC, FP_PROG_TC_EGRESS] }

    /// The maps fastpath pins (one file each under the pin directory).
    public static var mapNames: [String] {
        [FP_MAP_CONFIG, FP_MAP_IFACES, FP_MAP_IFACES_HIGH, FP_MAP_STATS, FP_MAP_DEVMAP, FP_MAP_VLANS, FP_MAP_LOCAL_ADDRS, FP_MAP_FLOWS, FP_MAP_RECHECKS, FP_MAP_CLOCK]
    }

    // MARK: runtime config (fp_config)

    /// The runtime config as the programs see it; every change rewrites it whole.
    private func updateConfig(_ change: (inout fp_config) -> Void) throws(FastPathError) {
        var value = try config.lookup(key: 0) ?? fp_config()
        change(&value)
        try config.update(key: 0, value: value)
    }

    /// Writes the settings (`fp_config`'s families and valve time).
    public func apply(_ settings: DataPathSettings) throws(FastPathError) {
        let families = (settings.ipv4 ? FP_CONFIG_IPV4 : 0) | (settings.ipv6 ? FP_CONFIG_IPV6 : 0)
        try updateConfig {
            $0.flags = $0.flags & ~(FP_CONFIG_IPV4 | FP_CONFIG_IPV6) | families
            $0.valve_ns = settings.valveMilliseconds &* 1_000_000
        }
    }

    /// The settings in `fp_config` now. A map no daemon wrote yet reads as
    /// both families off and no valve time, which no config asks for.
    public func settings() throws(FastPathError) -> DataPathSettings? {
        guard let value = try config.lookup(key: 0) else { return nil }
        return DataPathSettings(ipv4: value.flags & FP_CONFIG_IPV4 != 0, ipv6: value.flags & FP_CONFIG_IPV6 != 0,
                                valveMilliseconds: value.valve_ns / 1_000_000)
    }

    /// The smallest route MTU (0: no route has one): the programs pass
    /// longer packets to the kernel.
    public func setRouteMTUFloor(_ mtu: UInt32) throws(FastPathError) {
        try updateConfig { $0.mtu_floor = mtu }
    }

    /// Invalidates every flow's cached next hop: the next packet of each
    /// flow looks its route up again. Called on route, neighbour and link changes.
    public func bumpFIBGeneration() throws(FastPathError) {
        try updateConfig { $0.fib_gen &+= 1 }
    }

    /// Stamps the heartbeat (CLOCK_MONOTONIC now): in policy conntrack the
    /// programs pass everything once it is older than the settings' valve time.
    public func beat() throws(FastPathError) {
        let now = MonotonicClock.nanoseconds
        try updateConfig { $0.heartbeat_ns = now }
    }

    // MARK: interfaces (fp_ifaces)

    /// Writes an interface's entry; `slot` must not be 0 (0 means none).
    public func setInterface(ifindex: UInt32, _ entry: InterfaceEntry) throws(FastPathError) {
        var value = fp_iface()
        let mac = entry.mac.count == 6 ? entry.mac : [0, 0, 0, 0, 0, 0]
        value.mac = (mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
        value.flags = entry.flags.header
        value.slot = entry.slot
        if ifindex < FP_IFACE_INDEXED {
            try interfaces.update(key: ifindex, value: value)
        } else {
            try interfacesHigh.update(key: ifindex, value: value)
        }
    }

    /// Removes an interface's entry; false if it had none.
    @discardableResult
    public func removeInterface(ifindex: UInt32) throws(FastPathError) -> Bool {
        guard ifindex < FP_IFACE_INDEXED else { return try interfacesHigh.delete(key: ifindex) }
        guard let value = try interfaces.lookup(key: ifindex), value.slot != 0 else { return false }
        try interfaces.update(key: ifindex, value: fp_iface())
        return true
    }

    /// Every interface's entry, with its ifindex.
    public func interfaceEntries() throws(FastPathError) -> [(ifindex: UInt32, entry: InterfaceEntry)] {
        func entry(_ value: fp_iface) -> InterfaceEntry {
            let mac = [value.mac.0, value.mac.1, value.mac.2, value.mac.3, value.mac.4, value.mac.5]
            return InterfaceEntry(mac: mac, slot: value.slot, flags: InterfaceFlags(header: value.flags))
        }
        var entries: [(ifindex: UInt32, entry: InterfaceEntry)] = []
        for (index, value) in try interfaces.arrayValues().enumerated() where value.slot != 0 {
            entries.append((UInt32(index), entry(value)))
        }
        for ifindex in try interfacesHigh.keys() {
            if let value = try interfacesHigh.lookup(key: ifindex) { entries.append((ifindex, entry(value))) }
        }
        return entries
    }

    // MARK: redirect targets (fp_devmap)

    /// Lists `ifindex` as an XDP redirect target. The kernel resolves the
    /// device in the calling thread's network namespace.
    public func addRedirectTarget(ifindex: UInt32) throws(FastPathError) {
        try devmap.update(key: ifindex, value: fp_devmap_val(ifindex: ifindex, prog_fd: 0))
    }

    @discardableResult
    public func removeRedirectTarget(ifindex: UInt32) throws(FastPathError) -> Bool {
        try devmap.delete(key: ifindex)
    }

    public func redirectTargets() throws(FastPathError) -> [UInt32] {
        try devmap.keys()
    }

    // MARK: VLANs and local addresses

    public func addVLAN(lower: UInt32, proto: UInt16, vid: UInt16, device: UInt32) throws(FastPathError) {
        let key = fp_vlan_key(ifindex: lower, proto: proto.bigEndian, vid: vid)
        try vlans.update(key: key, value: fp_vlan_val(ifindex: device))
    }

    /// Records one of the router's own addresses (4 or 16 bytes).
    public func addLocalAddress(_ address: [UInt8], ifindex: UInt32) throws(FastPathError) {
        try localAddresses.update(key: DataPath.addressKey(address), value: ifindex)
    }

    @discardableResult
    public func removeLocalAddress(_ address: [UInt8]) throws(FastPathError) -> Bool {
        try localAddresses.delete(key: DataPath.addressKey(address))
    }

    /// IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), as the programs look it up.
    static func addressKey(_ address: [UInt8]) -> fp_addr {
        var bytes = address
        if address.count == 4 { bytes = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] + address }
        while bytes.count < 16 { bytes.append(0) }
        var key = fp_addr()
        key.addr = (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                    bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15])
        return key
    }

    // MARK: counters (fp_stats)

    public func counters(slot: UInt32) throws(FastPathError) -> InterfaceCounters {
        try DataPath.counters(in: stats, slot: slot)
    }

    /// Counters from an `fp_stats` map opened on its own (`openPinnedStats`).
    public static func counters(in stats: StatsMap, slot: UInt32) throws(FastPathError) -> InterfaceCounters {
        InterfaceCounters(summing: try stats.lookup(key: slot))
    }

    /// The `fp_stats` map pinned by a daemon that used `pinDirectory`.
    public static func openPinnedStats(in pinDirectory: String) throws(FastPathError) -> StatsMap {
        try StatsMap(pinnedAt: pinPath(of: FP_MAP_STATS, in: pinDirectory))
    }

    /// The path of a map pinned by a daemon that used `pinDirectory`.
    public static func pinPath(of map: String, in pinDirectory: String) -> String {
        joinPath(pinDirectory, map)
    }
}

// MARK: flows (fp_flows, policy conntrack)

extension DataPath {
    /// Mirrors one flow direction; an existing entry is left as it is (its
    /// next-hop cache and counters belong to the programs). Throws E2BIG
    /// when the table is full.
    /// With source NAT, `snatEgress` is the interface the kernel translated
    /// for: a route that leaves by another one passes packets to the kernel.
    /// `mark` is the mark the kernel routed the direction with.
    public func addFlow(_ key: FlowKey, rewrite: FlowRewrite, snatEgress: UInt32 = 0, mark: UInt32 = 0) throws(FastPathError) {
        var value = fp_flow()
        value.fib_mark = mark
        if let source = rewrite.source {
            value.nat_src = DataPath.addressKey(source.address).addr
            value.nat_sport = source.port.bigEndian
            value.flags |= FP_FLOW_SNAT
            value.snat_egress = snatEgress
        }
        if let destination = rewrite.destination {
            value.nat_dst = DataPath.addressKey(destination.address).addr
            value.nat_dport = destination.port.bigEndian
            value.flags |= FP_FLOW_DNAT
        }
        try flows.update(key: DataPath.flowKey(key), value: value, flags: .noExist)
    }

    @discardableResult
    public func removeFlow(_ key: FlowKey) throws(FastPathError) -> Bool {
        try flows.delete(key: DataPath.flowKey(key))
    }

    /// What the programs recorded for a mirrored direction (nil: not mirrored).
    public func flowActivity(_ key: FlowKey) throws(FastPathError) -> FlowActivity? {
        guard let value = try flows.lookup(key: DataPath.flowKey(key)) else { return nil }
        return FlowActivity(lastSeenNanoseconds: value.last_seen_ns, packets: value.packets, bytes: value.bytes)
    }

    /// Deletes every flow entry except `keep`; returns how many went.
    public func pruneFlows(keeping keep: [FlowKey]) throws(FastPathError) -> Int {
        try DataPath.prune(flows, keeping: keep)
    }

    /// Deletes every entry of a map keyed by `fp_flow_key` except `keep`.
    static func prune<Value>(_ map: BPFMap<fp_flow_key, Value>, keeping keep: [FlowKey]) throws(FastPathError) -> Int {
        var wanted: Set<[UInt8]> = []
        for key in keep { wanted.insert(DataPath.bytes(of: DataPath.flowKey(key))) }
        var removed = 0
        for raw in try map.keys() where !wanted.contains(DataPath.bytes(of: raw)) {
            if try map.delete(key: raw) { removed += 1 }
        }
        return removed
    }

    private static func bytes(of key: fp_flow_key) -> [UInt8] {
        withUnsafeBytes(of: key) { Array($0) }
    }

    public func flowCount() throws(FastPathError) -> Int {
        try flows.keys().count
    }

    /// Every direction in `fp_flows`, with its translation.
    public func flowEntries() throws(FastPathError) -> [(key: FlowKey, rewrite: FlowRewrite)] {
        var entries: [(key: FlowKey, rewrite: FlowRewrite)] = []
        for raw in try flows.keys() {
            guard let value = try flows.lookup(key: raw) else { continue }
            let width = raw.family == 4 ? 4 : 16
            func address<T>(_ field: T) -> [UInt8] { withUnsafeBytes(of: field) { Array($0.suffix(width)) } }
            let tuple = ConntrackTuple(family: raw.family, proto: raw.proto, source: address(raw.src),
                                       destination: address(raw.dst), sourcePort: UInt16(bigEndian: raw.sport),
                                       destinationPort: UInt16(bigEndian: raw.dport))
            let key = FlowKey(tuple, ingress: raw.ifindex)
            var rewrite = FlowRewrite()
            if value.flags & FP_FLOW_SNAT != 0 {
                rewrite.source = .init(address: address(value.nat_src), port: UInt16(bigEndian: value.nat_sport))
            }
            if value.flags & FP_FLOW_DNAT != 0 {
                rewrite.destination = .init(address: address(value.nat_dst), port: UInt16(bigEndian: value.nat_dport))
            }
            entries.append((key, rewrite))
        }
        return entries
    }

    /// The `fp_flows` key of a flow direction, as the programs build it.
    public static func flowKey(_ key: FlowKey) -> fp_flow_key {
        var raw = fp_flow_key()
        raw.src = addressKey(key.tuple.source).addr
        raw.dst = addressKey(key.tuple.destination).addr
        raw.sport = key.tuple.sourcePort.bigEndian
        raw.dport = key.tuple.destinationPort.bigEndian
        raw.ifindex = key.ingress
        raw.proto = key.tuple.proto
        raw.family = key.tuple.family
        return raw
    }
}

// MARK: rechecks (fp_rechecks, policy conntrack: the proofs admission waits for)

extension DataPath {
    /// Lists a flow direction by how it leaves the router (`leaving`: the
    /// translated tuple, interface 0); the egress program stamps it when
    /// the kernel forwards such a packet from `notBeforeMilliseconds` from
    /// now on. Listing it again resets the stamp.
    public func addRecheck(_ leaving: FlowKey, notBeforeMilliseconds: UInt64) throws(FastPathError) {
        var value = fp_recheck()
        value.not_before_ns = MonotonicClock.coarseNanoseconds &+ notBeforeMilliseconds &* 1_000_000
        try rechecks.update(key: DataPath.flowKey(leaving), value: value, flags: .any)
    }

    /// How the kernel forwarded a packet of `leaving` since it was listed;
    /// nil while none did or when it is not listed.
    public func recheckProof(_ leaving: FlowKey) throws(FastPathError) -> Admission.Proof? {
        guard let value = try rechecks.lookup(key: DataPath.flowKey(leaving)),
              value.seen_ns != 0 else { return nil }
        return Admission.Proof(ingress: value.ingress, egress: value.egress, mark: value.mark)
    }

    public func removeRecheck(_ egress: FlowKey) throws(FastPathError) {
        _ = try rechecks.delete(key: DataPath.flowKey(egress))
    }

    /// Deletes every recheck entry except `keep`; returns how many went.
    public func pruneRechecks(keeping keep: [FlowKey]) throws(FastPathError) -> Int {
        try DataPath.prune(rechecks, keeping: keep)
    }

    /// Turns the egress program's lookups on (entries are listed) or off.
    public func setRechecking(_ on: Bool) throws(FastPathError) {
        try updateConfig { $0.flags = on ? $0.flags | FP_CONFIG_RECHECK : $0.flags & ~FP_CONFIG_RECHECK }
    }

    /// The nftables ruleset generation the mirrored flows were admitted
    /// under, as the daemon recorded it (nil: none recorded). Pinned with
    /// the maps, so a restarted daemon can tell whether the firewall changed
    /// while no daemon watched.
    public func admittedRulesetGeneration() throws(FastPathError) -> UInt32? {
        guard let value = try config.lookup(key: 0),
              value.flags & FP_CONFIG_NFT_GEN != 0 else { return nil }
        return value.nft_gen
    }

    public func setAdmittedRulesetGeneration(_ generation: UInt32?) throws(FastPathError) {
        try updateConfig {
            $0.nft_gen = generation ?? 0
            $0.flags = generation == nil ? $0.flags & ~FP_CONFIG_NFT_GEN : $0.flags | FP_CONFIG_NFT_GEN
        }
    }
}
