/// The desired state of one configured interface.
public struct InterfacePlan: Equatable {
    /// The config section name (`lan`, `@interface[0]`).
    public var section: String
    public var device: String
    /// nil when the device does not exist (yet).
    public var ifindex: UInt32?
    public var requested: FastPathConfig.Mode
    public var mode: EffectiveMode
    /// Why `mode` is not what was requested; "" when the request is met.
    public var reason: String
    /// The `fp_stats` slot; nil when mode is none.
    public var slot: UInt32?
    public var flags: InterfaceFlags
    /// The device's MAC, as written to `fp_ifaces`; empty when absent.
    public var mac: [UInt8]

    public init(section: String, device: String, ifindex: UInt32?, requested: FastPathConfig.Mode,
                mode: EffectiveMode, reason: String, slot: UInt32?, flags: InterfaceFlags, mac: [UInt8]) {
        self.section = section
        self.device = device
        self.ifindex = ifindex
        self.requested = requested
        self.mode = mode
        self.reason = reason
        self.slot = slot
        self.flags = flags
        self.mac = mac
    }
}

/// One change to the kernel, carried out by the applier.
public enum ReconcileStep: Equatable, CustomStringConvertible {
    case applySettings(DataPathSettings)
    case setInterfaceEntry(ifindex: UInt32, entry: InterfaceEntry)
    case removeInterfaceEntry(ifindex: UInt32)
    case addRedirectTarget(ifindex: UInt32)
    case removeRedirectTarget(ifindex: UInt32)
    case attachTC(ifindex: UInt32)
    case detachTC(ifindex: UInt32)
    case attachXDP(ifindex: UInt32, mode: XDPMode)
    case detachXDP(ifindex: UInt32, mode: XDPMode)

    /// The interface the step changes; nil for the data path's settings.
    public var ifindex: UInt32? {
        switch self {
        case .applySettings: return nil
        case .setInterfaceEntry(let ifindex, _), .removeInterfaceEntry(let ifindex),
             .addRedirectTarget(let ifindex), .removeRedirectTarget(let ifindex),
             .attachTC(let ifindex), .detachTC(let ifindex),
             .attachXDP(let ifindex, _), .detachXDP(let ifindex, _):
            return ifindex
        }
    }

    /// For logs: `attach xdp native ifindex 3`.
    public var description: String {
        switch self {
        case .applySettings(let settings):
            return "apply settings ipv4 \(settings.ipv4) ipv6 \(settings.ipv6) valve \(settings.valveMilliseconds) ms"
        case .setInterfaceEntry(let ifindex, let entry):
            return "set interface entry ifindex \(ifindex) slot \(entry.slot) flags \(entry.flags.rawValue)"
        case .removeInterfaceEntry(let ifindex): return "remove interface entry ifindex \(ifindex)"
        case .addRedirectTarget(let ifindex): return "add redirect target ifindex \(ifindex)"
        case .removeRedirectTarget(let ifindex): return "remove redirect target ifindex \(ifindex)"
        case .attachTC(let ifindex): return "attach tc ifindex \(ifindex)"
        case .detachTC(let ifindex): return "detach tc ifindex \(ifindex)"
        case .attachXDP(let ifindex, let mode): return "attach xdp \(mode.rawValue) ifindex \(ifindex)"
        case .detachXDP(let ifindex, let mode): return "detach xdp \(mode.rawValue) ifindex \(ifindex)"
        }
    }
}

/// What the kernel should look like, and the steps that get it there.
public struct ReconcilePlan: Equatable {
    /// One per configured interface, in config order.
    public var interfaces: [InterfacePlan]
    /// The `fp_devmap` contents wanted, ascending.
    public var redirectTargets: [UInt32]
    /// The active interfaces in policy conntrack: their ingress consults
    /// the flow table, so the flow mirror admits what enters through them.
    public var flowTableIngresses: Set<UInt32>
    /// In the order they must be carried out (see `ReconcilePlanner`).
    public var steps: [ReconcileStep]
    /// The slot every configured device holds or keeps reserved while it is
    /// waiting or off: feed it back as `previousSlots` next time.
    public var slotsByDevice: [String: UInt32]

    public init(interfaces: [InterfacePlan], redirectTargets: [UInt32], flowTableIngresses: Set<UInt32> = [],
                steps: [ReconcileStep], slotsByDevice: [String: UInt32] = [:]) {
        self.interfaces = interfaces
        self.redirectTargets = redirectTargets
        self.flowTableIngresses = flowTableIngresses
        self.steps = steps
        self.slotsByDevice = slotsByDevice
    }

    public func interface(device: String) -> InterfacePlan? {
        for interface in interfaces where interface.device == device {
            return interface
        }
        return nil
    }
}

/// The reconciler's pure half: (config, kernel view, what is attached) → plan.
///
/// Modes: disabled (globally or per interface) and `off` give none; a device
/// that does not exist gives none with "waiting for device". `auto` is native
/// XDP when the driver has it (`.basic`, or the kernel cannot tell) and no
/// native attach was refused, else tc; `native` that cannot be has the same
/// tc fallback, with the reason; `generic` and `tc` are taken as asked. Every
/// XDP interface also gets the TC program, which carries the XDP→TC handoff
/// for egress devices not in the devmap.
///
/// Redirect targets (the devmap) are the links that are up and whose driver
/// says it takes XDP frames (`.ndoXmit`); none while no interface is active.
///
/// Steps are only the differences from `attached`, so adopting a matching
/// state does nothing (a restart does not flap). They come in this order,
/// make-before-break, so a mode switch loses no packets:
/// 0. `applySettings`, when the data path's settings differ from the config's;
/// 1. `setInterfaceEntry`, then `addRedirectTarget`;
/// 2. `attachTC` (TC now carries every interface that will be active);
/// 3. `detachXDP` of a mode no longer wanted (native and generic cannot
///    coexist on one device; TC forwards meanwhile);
/// 4. `attachXDP`;
/// 5. `detachTC`, only for interfaces going to none (after their XDP detach);
/// 6. `removeInterfaceEntry`, then `removeRedirectTarget`.
/// Within a phase: configured interfaces in config order, then the ifindexes
/// that are attached but no longer wanted, ascending. Those (unconfigured,
/// renamed, turned off) are detached; for an ifindex the view no longer has,
/// the kernel already dropped the programs, so only its map entries are removed.
public enum ReconcilePlanner {
    /// `maxSlot` is the data path's highest `fp_stats` slot (slot 0 counts
    /// unknown interfaces): at most that many interfaces are active.
    public static func plan(config: FastPathConfig, view: KernelView, attached: [UInt32: AttachedState],
                            currentRedirectTargets: [UInt32], maxSlot: UInt32, currentSettings: DataPathSettings? = nil,
                            networkDevices: [String: String] = [:], nativeRefusals: [String: String] = [:],
                            previousSlots: [String: UInt32] = [:]) -> ReconcilePlan {
        var interfaces = chooseModes(config: config, view: view, networkDevices: networkDevices,
                                     nativeRefusals: nativeRefusals)
        let slotsByDevice = assignSlots(&interfaces, attached: attached, maxSlot: maxSlot, previousSlots: previousSlots)

        var anyActive = false
        for interface in interfaces where interface.mode != .none { anyActive = true }
        var targets: [UInt32] = []
        if anyActive {
            for link in view.sortedLinks where link.isUp && (link.xdpFeatures?.contains(.ndoXmit) ?? false) {
                targets.append(link.ifindex)
            }
        }

        let settings = DataPathSettings(config.globals)
        let steps = (currentSettings == settings ? [] : [.applySettings(settings)])
            + diff(interfaces, attached: attached, view: view, targets: targets, currentTargets: currentRedirectTargets)
        var flowTableIngresses: Set<UInt32> = []
        for interface in interfaces where interface.mode != .none && interface.flags.contains(.policyConntrack) {
            if let ifindex = interface.ifindex { flowTableIngresses.insert(ifindex) }
        }
        return ReconcilePlan(interfaces: interfaces, redirectTargets: targets, flowTableIngresses: flowTableIngresses,
                             steps: steps, slotsByDevice: slotsByDevice)
    }

    // MARK: Modes

    private static func chooseModes(config: FastPathConfig, view: KernelView, networkDevices: [String: String],
                                    nativeRefusals: [String: String]) -> [InterfacePlan] {
        var result: [InterfacePlan] = []
        var claimed: [String: FastPathConfig.Interface] = [:]
        for interface in config.interfaces {
            let device = interface.resolvedDevice(networkDevices)
            let link = device.flatMap { view.link(named: $0) }
            var plan = InterfacePlan(section: interface.name, device: device ?? "", ifindex: link?.ifindex,
                                     requested: interface.mode, mode: .none, reason: "", slot: nil,
                                     flags: InterfaceFlags.of(interface, link: link), mac: link?.mac ?? [])
            if let device, let first = claimed[device] {
                plan.ifindex = nil
                plan.reason = "device '\(device)' is already used by interface '\(first.name)'"
                if !sameSettings(first, interface), let index = result.firstIndex(where: { $0.section == first.name }) {
                    // Which one's policy and wan flag hold is not for fastpath to guess.
                    result[index].mode = .none
                    result[index].reason = "device '\(device)' is also used by interface '\(interface.name)' with other settings"
                    plan.reason = "device '\(device)' is also used by interface '\(first.name)' with other settings"
                }
                result.append(plan)
                continue
            }
            if let device { claimed[device] = interface }
            if device == nil, let network = interface.network {
                plan.reason = "waiting for netifd interface '\(network)' to have a device"
            } else if !config.globals.enabled {
                plan.reason = "fastpath is disabled (globals enabled '0')"
            } else if !interface.enabled {
                plan.reason = "interface is disabled (enabled '0')"
            } else if interface.mode == .off {
                plan.reason = ""
            } else if let link = link {
                (plan.mode, plan.reason) = mode(for: interface.mode, link: link,
                                                refusal: nativeRefusals[plan.device])
            } else {
                plan.reason = "waiting for device"
            }
            result.append(plan)
        }
        return result
    }

    /// Two sections on one device (netifd put wan and wan6 on one port)
    /// may share it only if they ask for the same.
    private static func sameSettings(_ a: FastPathConfig.Interface, _ b: FastPathConfig.Interface) -> Bool {
        a.mode == b.mode && a.policy == b.policy && a.wan == b.wan && a.enabled == b.enabled
    }

    private static func mode(for requested: FastPathConfig.Mode, link: ViewLink,
                             refusal: String?) -> (EffectiveMode, String) {
        switch requested {
        case .off: return (.none, "")
        case .generic: return (.xdpGeneric, "")
        case .tc: return (.tc, "")
        case .auto, .native:
            if let refusal = refusal {
                return (.tc, "native XDP refused: \(refusal); using tc")
            }
            if let features = link.xdpFeatures, !features.contains(.basic) {
                return (.tc, "driver has no native XDP; using tc")
            }
            return (.xdpNative, "")
        }
    }

    // MARK: Slots

    /// Keeps each device's slot (the one in its current entry, else its
    /// previous one), hands out the lowest free slot otherwise, preferring
    /// slots nobody else may want back. Past `maxSlot` interfaces: mode none.
    private static func assignSlots(_ interfaces: inout [InterfacePlan], attached: [UInt32: AttachedState],
                                    maxSlot: UInt32, previousSlots: [String: UInt32]) -> [String: UInt32] {
        let range: ClosedRange<UInt32> = 1...maxSlot
        var taken = Set<UInt32>()
        var result: [String: UInt32] = [:]

        // Keep slots already held, in config order (the first claim wins).
        for i in interfaces.indices where interfaces[i].mode != .none {
            for slot in heldSlots(interfaces[i], attached, previousSlots) where range.contains(slot) && !taken.contains(slot) {
                interfaces[i].slot = slot
                taken.insert(slot)
                break
            }
        }
        // Slots someone may want back: inactive devices' previous slots, and
        // entries about to be removed (their counters would mix).
        var reserved = Set<UInt32>()
        for interface in interfaces where interface.mode == .none {
            for slot in heldSlots(interface, attached, previousSlots) where range.contains(slot) && !taken.contains(slot) && !reserved.contains(slot) {
                reserved.insert(slot)
                if !interface.device.isEmpty { result[interface.device] = slot }
                break
            }
        }
        for state in attached.values {
            if let slot = state.slot, !taken.contains(slot) { reserved.insert(slot) }
        }
        // Hand out the rest.
        for i in interfaces.indices where interfaces[i].mode != .none && interfaces[i].slot == nil {
            var free: UInt32?
            for slot in range where !taken.contains(slot) && !reserved.contains(slot) {
                free = slot
                break
            }
            if free == nil {
                for slot in range where !taken.contains(slot) {
                    free = slot
                    break
                }
            }
            if let slot = free {
                interfaces[i].slot = slot
                taken.insert(slot)
            } else {
                interfaces[i].mode = .none
                interfaces[i].reason = "no free interface slot (at most \(maxSlot) interfaces)"
            }
        }
        for interface in interfaces {
            if let slot = interface.slot { result[interface.device] = slot }
        }
        return result
    }

    /// A device's own slots, best first: its current entry's, then its previous one.
    private static func heldSlots(_ interface: InterfacePlan, _ attached: [UInt32: AttachedState],
                                  _ previousSlots: [String: UInt32]) -> [UInt32] {
        var slots: [UInt32] = []
        if let ifindex = interface.ifindex, let slot = attached[ifindex]?.slot { slots.append(slot) }
        if !interface.device.isEmpty, let slot = previousSlots[interface.device] { slots.append(slot) }
        return slots
    }

    // MARK: Steps

    private struct Desired {
        var xdp: XDPMode?
        var tc: Bool
        var entry: InterfaceEntry?
    }

    private static func diff(_ interfaces: [InterfacePlan], attached: [UInt32: AttachedState], view: KernelView,
                             targets: [UInt32], currentTargets: [UInt32]) -> [ReconcileStep] {
        // Every ifindex that is or should be touched, in step order.
        var order: [UInt32] = []
        var desired: [UInt32: Desired] = [:]
        for interface in interfaces {
            guard let ifindex = interface.ifindex, interface.mode != .none, let slot = interface.slot else { continue }
            let xdp: XDPMode? = interface.mode == .xdpNative ? .native : interface.mode == .xdpGeneric ? .generic : nil
            desired[ifindex] = Desired(xdp: xdp, tc: true,
                                       entry: InterfaceEntry(mac: interface.mac, slot: slot, flags: interface.flags))
            order.append(ifindex)
        }
        var leaving: [UInt32] = []
        for ifindex in attached.keys where desired[ifindex] == nil { leaving.append(ifindex) }
        leaving.sort()
        order += leaving

        let none = Desired(xdp: nil, tc: false, entry: nil)
        var entries: [ReconcileStep] = [], tcAttach: [ReconcileStep] = [], xdpDetach: [ReconcileStep] = []
        var xdpAttach: [ReconcileStep] = [], tcDetach: [ReconcileStep] = [], entryRemove: [ReconcileStep] = []
        for ifindex in order {
            let want = desired[ifindex] ?? none
            let have = attached[ifindex] ?? AttachedState(ifindex: ifindex)
            // A vanished device took its programs with it.
            let present = view.link(ifindex: ifindex) != nil

            if let entry = want.entry, entry != have.entry {
                entries.append(.setInterfaceEntry(ifindex: ifindex, entry: entry))
            }
            if want.tc && !have.tc { tcAttach.append(.attachTC(ifindex: ifindex)) }
            if let old = have.xdp, old != want.xdp, present { xdpDetach.append(.detachXDP(ifindex: ifindex, mode: old)) }
            if let new = want.xdp, new != have.xdp { xdpAttach.append(.attachXDP(ifindex: ifindex, mode: new)) }
            if (have.tc || have.tcPartial) && !want.tc && present { tcDetach.append(.detachTC(ifindex: ifindex)) }
            if have.entry != nil && want.entry == nil { entryRemove.append(.removeInterfaceEntry(ifindex: ifindex)) }
        }

        var targetsAdd: [ReconcileStep] = [], targetsRemove: [ReconcileStep] = []
        for ifindex in targets where !currentTargets.contains(ifindex) {
            targetsAdd.append(.addRedirectTarget(ifindex: ifindex))
        }
        var stale: [UInt32] = []
        for ifindex in currentTargets where !targets.contains(ifindex) && !stale.contains(ifindex) {
            stale.append(ifindex)
        }
        stale.sort()
        for ifindex in stale { targetsRemove.append(.removeRedirectTarget(ifindex: ifindex)) }

        return entries + targetsAdd + tcAttach + xdpDetach + xdpAttach + tcDetach + entryRemove + targetsRemove
    }
}
