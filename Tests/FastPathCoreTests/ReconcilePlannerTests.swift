import XCTest
@testable import FastPathCore

final class ReconcilePlannerTests: XCTestCase {
    private let macA: [UInt8] = [0x02, 0, 0, 0, 0, 0x0a]
    private let macB: [UInt8] = [0x02, 0, 0, 0, 0, 0x0b]
    private let native: XDPFeatureSet = [.basic, .redirect, .ndoXmit]
    private let maxSlot: UInt32 = 15

    private func iface(_ name: String, _ device: String, mode: FastPathConfig.Mode = .auto,
                       policy: FastPathConfig.Policy = .conntrack, wan: Bool = false,
                       enabled: Bool = true) -> FastPathConfig.Interface {
        FastPathConfig.Interface(name: name, device: device, mode: mode, policy: policy, wan: wan,
                                 enabled: enabled, line: 1, deviceLine: 2)
    }

    private func config(_ interfaces: FastPathConfig.Interface..., enabled: Bool = true) -> FastPathConfig {
        var globals = FastPathConfig.Globals()
        globals.enabled = enabled
        return FastPathConfig(globals: globals, interfaces: interfaces)
    }

    private func plan(_ config: FastPathConfig, _ view: KernelView, attached: [AttachedState] = [],
                      targets: [UInt32] = [], refusals: [String: String] = [:],
                      previousSlots: [String: UInt32] = [:]) -> ReconcilePlan {
        var byIndex: [UInt32: AttachedState] = [:]
        for state in attached { byIndex[state.ifindex] = state }
        return ReconcilePlanner.plan(config: config, view: view, attached: byIndex, currentRedirectTargets: targets,
                                     maxSlot: maxSlot, currentSettings: DataPathSettings(config.globals),
                                     nativeRefusals: refusals, previousSlots: previousSlots)
    }

    /// The state the applier leaves after carrying out `plan`, as it would report it.
    private func applied(_ plan: ReconcilePlan) -> [AttachedState] {
        var result: [AttachedState] = []
        for interface in plan.interfaces where interface.mode != .none {
            let xdp: XDPMode? = interface.mode == .xdpNative ? .native : interface.mode == .xdpGeneric ? .generic : nil
            result.append(AttachedState(ifindex: interface.ifindex!, xdp: xdp, tc: true,
                                        entry: InterfaceEntry(mac: interface.mac, slot: interface.slot!,
                                                              flags: interface.flags)))
        }
        return result
    }

    // MARK: - Modes

    func testAutoWithNativeSupportIsNativeXDPPlusTC() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", mac: macA, xdpFeatures: native)])
        let result = plan(config(iface("lan", "eth0")), view)
        let lan = result.interfaces[0]
        XCTAssertEqual(lan.mode, .xdpNative)
        XCTAssertEqual(lan.reason, "")
        XCTAssertEqual(lan.ifindex, 3)
        XCTAssertEqual(lan.slot, 1)
        XCTAssertEqual(lan.mac, macA)
        XCTAssertEqual(lan.flags, .policyConntrack)
        XCTAssertEqual(result.steps, [
            .setInterfaceEntry(ifindex: 3, entry: InterfaceEntry(mac: macA, slot: 1, flags: .policyConntrack)),
            .addRedirectTarget(ifindex: 3),
            .attachTC(ifindex: 3),
            .attachXDP(ifindex: 3, mode: .native),
        ])
    }

    func testAutoWithUnknownFeaturesTriesNative() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: nil)])
        XCTAssertEqual(plan(config(iface("lan", "eth0")), view).interfaces[0].mode, .xdpNative)
    }

    func testAutoWithoutNativeSupportFallsBackToTC() {
        let view = KernelView(links: [ViewLink(ifindex: 4, name: "wlan0", xdpFeatures: [])])
        let result = plan(config(iface("lan", "wlan0")), view)
        XCTAssertEqual(result.interfaces[0].mode, .tc)
        XCTAssertEqual(result.interfaces[0].reason, "driver has no native XDP; using tc")
        XCTAssertEqual(result.steps, [.setInterfaceEntry(ifindex: 4, entry: InterfaceEntry(mac: [], slot: 1, flags: .policyConntrack)), .attachTC(ifindex: 4)])
        XCTAssertEqual(result.redirectTargets, [])
    }

    func testRefusedNativeFallsBackToTCWithTheKernelsWords() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: native)])
        let refusals = ["eth0": "MTU too large for native XDP"]
        let auto = plan(config(iface("lan", "eth0")), view, refusals: refusals).interfaces[0]
        XCTAssertEqual(auto.mode, .tc)
        XCTAssertEqual(auto.reason, "native XDP refused: MTU too large for native XDP; using tc")
        let asked = plan(config(iface("lan", "eth0", mode: .native)), view, refusals: refusals).interfaces[0]
        XCTAssertEqual(asked.requested, .native)
        XCTAssertEqual(asked.mode, .tc)
        XCTAssertEqual(asked.reason, "native XDP refused: MTU too large for native XDP; using tc")
        // A refusal for another device changes nothing here.
        XCTAssertEqual(plan(config(iface("lan", "eth0")), view, refusals: ["eth9": "x"]).interfaces[0].mode, .xdpNative)
    }

    func testNativeWithoutDriverSupportFallsBackToTC() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: [.ndoXmit])])
        let lan = plan(config(iface("lan", "eth0", mode: .native)), view).interfaces[0]
        XCTAssertEqual(lan.mode, .tc)
        XCTAssertEqual(lan.reason, "driver has no native XDP; using tc")
    }

    func testGenericIsGenericXDPPlusTC() {
        let view = KernelView(links: [ViewLink(ifindex: 5, name: "eth1", xdpFeatures: [])])
        let result = plan(config(iface("wan", "eth1", mode: .generic, wan: true)), view)
        XCTAssertEqual(result.interfaces[0].mode, .xdpGeneric)
        XCTAssertEqual(result.interfaces[0].reason, "")
        XCTAssertEqual(result.interfaces[0].flags, [.policyConntrack, .wan])
        XCTAssertEqual(result.steps, [
            .setInterfaceEntry(ifindex: 5, entry: InterfaceEntry(mac: [], slot: 1, flags: [.policyConntrack, .wan])),
            .attachTC(ifindex: 5),
            .attachXDP(ifindex: 5, mode: .generic),
        ])
    }

    /// Policy routing repeats the kernel's source validation: strict with
    /// rp_filter 1, loose otherwise (the kernel checks loosely with 0 too
    /// once custom rules exist); policy conntrack needs none.
    func testPolicyRoutingChecksTheSourceAsRPFilterSays() {
        for (filter, check) in [(UInt8(0), InterfaceFlags.reversePathLoose), (1, InterfaceFlags.reversePathStrict),
                                (2, InterfaceFlags.reversePathLoose)] {
            let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: native, reversePathFilter: filter)])
            XCTAssertEqual(plan(config(iface("lan", "eth0", policy: .routing)), view).interfaces[0].flags,
                           check.union(.policyRouting), "rp_filter \(filter)")
            XCTAssertEqual(plan(config(iface("lan", "eth0")), view).interfaces[0].flags, .policyConntrack)
        }
    }

    func testTCIsTCEvenWithNativeSupport() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: native)])
        let result = plan(config(iface("lan", "eth0", mode: .tc, policy: .routing)), view)
        XCTAssertEqual(result.interfaces[0].mode, .tc)
        XCTAssertEqual(result.interfaces[0].reason, "")
        XCTAssertEqual(result.interfaces[0].flags, [.policyRouting, .reversePathLoose])
        XCTAssertEqual(result.steps, [
            .setInterfaceEntry(ifindex: 3, entry: InterfaceEntry(mac: [], slot: 1, flags: [.policyRouting, .reversePathLoose])),
            .addRedirectTarget(ifindex: 3),
            .attachTC(ifindex: 3),
        ])
    }

    func testOffIsNoneAndMet() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: native)])
        let result = plan(config(iface("lan", "eth0", mode: .off)), view)
        XCTAssertEqual(result.interfaces[0].mode, .none)
        XCTAssertEqual(result.interfaces[0].reason, "")
        XCTAssertNil(result.interfaces[0].slot)
        XCTAssertEqual(result.steps, [])
        XCTAssertEqual(result.redirectTargets, [], "nothing active: the devmap stays empty")
    }

    func testDisabledGloballyOrPerInterface() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: native),
                                      ViewLink(ifindex: 4, name: "eth1", xdpFeatures: native)])
        let global = plan(config(iface("lan", "eth0"), enabled: false), view)
        XCTAssertEqual(global.interfaces[0].mode, .none)
        XCTAssertEqual(global.interfaces[0].reason, "fastpath is disabled (globals enabled '0')")
        XCTAssertEqual(global.steps, [])

        let one = plan(config(iface("lan", "eth0", enabled: false), iface("wan", "eth1")), view)
        XCTAssertEqual(one.interfaces[0].mode, .none)
        XCTAssertEqual(one.interfaces[0].reason, "interface is disabled (enabled '0')")
        XCTAssertEqual(one.interfaces[1].mode, .xdpNative)
    }

    func testMissingDeviceIsWaitingNotAnError() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: native)])
        let result = plan(config(iface("lan", "eth0"), iface("guest", "br-guest")), view)
        let guest = result.interfaces[1]
        XCTAssertEqual(guest.section, "guest")
        XCTAssertEqual(guest.device, "br-guest")
        XCTAssertNil(guest.ifindex)
        XCTAssertEqual(guest.mode, .none)
        XCTAssertEqual(guest.reason, "waiting for device")
        XCTAssertEqual(guest.mac, [])
        XCTAssertFalse(result.steps.contains { $0.ifindex != 3 })

        // It appears: attached without touching eth0.
        var later = view
        later.apply(ViewLink(ifindex: 9, name: "br-guest", mac: macB, xdpFeatures: []))
        let next = plan(config(iface("lan", "eth0"), iface("guest", "br-guest")), later,
                        attached: applied(result), targets: result.redirectTargets)
        XCTAssertEqual(next.interfaces[1].mode, .tc)
        XCTAssertEqual(next.steps, [.setInterfaceEntry(ifindex: 9, entry: InterfaceEntry(mac: macB, slot: 2, flags: .policyConntrack)), .attachTC(ifindex: 9)])
    }

    // MARK: - Slots

    func testSlotsAreStableAcrossReorderingAndNewDevices() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0"), ViewLink(ifindex: 4, name: "eth1"),
                                      ViewLink(ifindex: 5, name: "eth2")])
        let first = plan(config(iface("a", "eth0"), iface("b", "eth1")), view)
        XCTAssertEqual(first.interfaces.map { $0.slot }, [1, 2])
        XCTAssertEqual(first.slotsByDevice, ["eth0": 1, "eth1": 2])

        // Reordered, one added in front: kept slots, the new one gets the lowest free.
        let second = plan(config(iface("c", "eth2"), iface("b", "eth1"), iface("a", "eth0")), view,
                          previousSlots: first.slotsByDevice)
        XCTAssertEqual(second.interfaces.map { $0.slot }, [3, 2, 1])

        // Adopted entries win over nothing; previous slots apply after a device is recreated.
        let adopted = plan(config(iface("a", "eth0")), view,
                           attached: [AttachedState(ifindex: 3, tc: true, entry: InterfaceEntry(mac: [], slot: 7, flags: .policyConntrack))])
        XCTAssertEqual(adopted.interfaces[0].slot, 7)

        // A waiting device keeps its slot reserved; a newcomer does not take it.
        let waiting = plan(config(iface("x", "gone0"), iface("a", "eth0")), view, previousSlots: ["gone0": 1])
        XCTAssertNil(waiting.interfaces[0].slot)
        XCTAssertEqual(waiting.interfaces[1].slot, 2)
        XCTAssertEqual(waiting.slotsByDevice, ["gone0": 1, "eth0": 2])

        // Two devices claiming one slot: the first in config order keeps it.
        let clash = plan(config(iface("a", "eth0"), iface("b", "eth1")), view, previousSlots: ["eth0": 4, "eth1": 4])
        XCTAssertEqual(clash.interfaces.map { $0.slot }, [4, 1])

        // Out-of-range previous slots are ignored.
        let bad = plan(config(iface("a", "eth0")), view, previousSlots: ["eth0": 0])
        XCTAssertEqual(bad.interfaces[0].slot, 1)
    }

    func testInterfacesPastTheLastSlotGetModeNone() {
        var links: [ViewLink] = []
        var interfaces: [FastPathConfig.Interface] = []
        let count = Int(maxSlot) + 2
        for i in 0..<count {
            links.append(ViewLink(ifindex: UInt32(10 + i), name: "veth\(i)", xdpFeatures: []))
            interfaces.append(iface("i\(i)", "veth\(i)"))
        }
        let result = plan(FastPathConfig(interfaces: interfaces), KernelView(links: links))
        let last = Int(maxSlot) - 1
        XCTAssertEqual(result.interfaces[last].slot, maxSlot)
        XCTAssertEqual(result.interfaces[last].mode, .tc)
        for overflow in result.interfaces[(last + 1)...] {
            XCTAssertEqual(overflow.mode, .none)
            XCTAssertNil(overflow.slot)
            XCTAssertEqual(overflow.reason, "no free interface slot (at most \(maxSlot) interfaces)")
        }
        XCTAssertEqual(Set(result.interfaces.compactMap { $0.slot }).count, Int(maxSlot))
        XCTAssertFalse(result.steps.contains { ($0.ifindex ?? 0) >= 10 + maxSlot })
    }

    // MARK: - Adoption and ordering

    func testAdoptingAMatchingStateProducesNoSteps() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", mac: macA, xdpFeatures: native),
                                      ViewLink(ifindex: 4, name: "wlan0", mac: macB, xdpFeatures: []),
                                      ViewLink(ifindex: 5, name: "eth1", xdpFeatures: [])])
        let cfg = config(iface("lan", "eth0"), iface("wifi", "wlan0"), iface("wan", "eth1", mode: .generic, wan: true))
        let first = plan(cfg, view)
        XCTAssertEqual(first.interfaces.map { $0.mode }, [.xdpNative, .tc, .xdpGeneric])
        let restart = plan(cfg, view, attached: applied(first), targets: first.redirectTargets,
                           previousSlots: first.slotsByDevice)
        XCTAssertEqual(restart.steps, [])
        XCTAssertEqual(restart.interfaces, first.interfaces)
        // Even without the run state's slots, adopted entries keep theirs.
        XCTAssertEqual(plan(cfg, view, attached: applied(first), targets: first.redirectTargets).steps, [])
    }

    func testChangedPolicyOrMACRewritesOnlyTheEntry() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", mac: macA, xdpFeatures: [])])
        let first = plan(config(iface("lan", "eth0")), view)
        let routing = plan(config(iface("lan", "eth0", policy: .routing)), view, attached: applied(first))
        XCTAssertEqual(routing.steps, [.setInterfaceEntry(ifindex: 3, entry: InterfaceEntry(mac: macA, slot: 1, flags: [.policyRouting, .reversePathLoose]))])
        var newMAC = view
        newMAC.apply(ViewLink(ifindex: 3, name: "eth0", mac: macB, xdpFeatures: []))
        XCTAssertEqual(plan(config(iface("lan", "eth0")), newMAC, attached: applied(first)).steps,
                       [.setInterfaceEntry(ifindex: 3, entry: InterfaceEntry(mac: macB, slot: 1, flags: .policyConntrack))])
    }

    func testModeSwitchesAreMakeBeforeBreak() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", mac: macA, xdpFeatures: [.basic])])
        let start = plan(config(iface("lan", "eth0", mode: .native)), view)
        XCTAssertEqual(start.steps, [
            .setInterfaceEntry(ifindex: 3, entry: InterfaceEntry(mac: macA, slot: 1, flags: .policyConntrack)),
            .attachTC(ifindex: 3),
            .attachXDP(ifindex: 3, mode: .native),
        ])

        // native -> tc: TC is already there, so only XDP goes.
        let toTC = plan(config(iface("lan", "eth0", mode: .tc)), view, attached: applied(start))
        XCTAssertEqual(toTC.steps, [.detachXDP(ifindex: 3, mode: .native)])

        // tc -> generic: nothing to break.
        let toGeneric = plan(config(iface("lan", "eth0", mode: .generic)), view, attached: applied(toTC))
        XCTAssertEqual(toGeneric.steps, [.attachXDP(ifindex: 3, mode: .generic)])

        // generic -> native: the two cannot coexist; TC carries traffic in between.
        let toNative = plan(config(iface("lan", "eth0", mode: .native)), view, attached: applied(toGeneric))
        XCTAssertEqual(toNative.steps, [.detachXDP(ifindex: 3, mode: .generic), .attachXDP(ifindex: 3, mode: .native)])

        // An adopted XDP without TC gets TC before anything is detached.
        let bare = [AttachedState(ifindex: 3, xdp: .native, entry: InterfaceEntry(mac: macA, slot: 1, flags: .policyConntrack))]
        XCTAssertEqual(plan(config(iface("lan", "eth0", mode: .generic)), view, attached: bare).steps, [
            .attachTC(ifindex: 3),
            .detachXDP(ifindex: 3, mode: .native),
            .attachXDP(ifindex: 3, mode: .generic),
        ])

        // native -> off: XDP, then TC, then the entry.
        let off = plan(config(iface("lan", "eth0", mode: .off)), view, attached: applied(toNative))
        XCTAssertEqual(off.steps, [
            .detachXDP(ifindex: 3, mode: .native),
            .detachTC(ifindex: 3),
            .removeInterfaceEntry(ifindex: 3),
        ])
    }

    func testPhasesAcrossInterfaces() {
        // Several interfaces changing at once: every phase completes before the next.
        let view = KernelView(links: [ViewLink(ifindex: 2, name: "eth0", mac: macA, xdpFeatures: native),
                                      ViewLink(ifindex: 3, name: "eth1", mac: macB, xdpFeatures: native),
                                      ViewLink(ifindex: 4, name: "eth2", xdpFeatures: [])])
        let before = [
            AttachedState(ifindex: 2, xdp: .generic, tc: true, entry: InterfaceEntry(mac: macA, slot: 1, flags: .policyConntrack)),
            AttachedState(ifindex: 3, xdp: .native, tc: true, entry: InterfaceEntry(mac: macB, slot: 2, flags: .policyConntrack)),
        ]
        let cfg = config(iface("a", "eth0", mode: .native), iface("b", "eth1", mode: .off), iface("c", "eth2"))
        let result = plan(cfg, view, attached: before, targets: [2, 3, 7])
        XCTAssertEqual(result.steps, [
            .setInterfaceEntry(ifindex: 4, entry: InterfaceEntry(mac: [], slot: 3, flags: .policyConntrack)),
            .attachTC(ifindex: 4),
            .detachXDP(ifindex: 2, mode: .generic),
            .detachXDP(ifindex: 3, mode: .native),
            .attachXDP(ifindex: 2, mode: .native),
            .detachTC(ifindex: 3),
            .removeInterfaceEntry(ifindex: 3),
            .removeRedirectTarget(ifindex: 7),
        ])
        XCTAssertEqual(result.redirectTargets, [2, 3], "eth1 is off but still a valid egress target")
    }

    func testUnconfiguredAndVanishedInterfacesAreRemoved() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", mac: macA, xdpFeatures: [])])
        let attached = [
            AttachedState(ifindex: 3, tc: true, entry: InterfaceEntry(mac: macA, slot: 1, flags: .policyConntrack)),
            // Configured before, now dropped from the config but still present.
            AttachedState(ifindex: 8, xdp: .native, tc: true, entry: InterfaceEntry(mac: [], slot: 2, flags: .policyConntrack)),
            // The device went away: the kernel took its programs, only the map entry is left.
            AttachedState(ifindex: 6, xdp: .generic, tc: true, entry: InterfaceEntry(mac: [], slot: 3, flags: .policyConntrack)),
        ]
        var withOld = view
        withOld.apply(ViewLink(ifindex: 8, name: "eth8", xdpFeatures: [.basic]))
        let result = plan(config(iface("lan", "eth0")), withOld, attached: attached)
        XCTAssertEqual(result.steps, [
            .detachXDP(ifindex: 8, mode: .native),
            .detachTC(ifindex: 8),
            .removeInterfaceEntry(ifindex: 6),
            .removeInterfaceEntry(ifindex: 8),
        ])

        // A renamed device is no longer the configured one.
        var renamed = view
        renamed.apply(ViewLink(ifindex: 3, name: "lan0", mac: macA, xdpFeatures: []))
        let after = plan(config(iface("lan", "eth0")), renamed, attached: [attached[0]])
        XCTAssertEqual(after.interfaces[0].reason, "waiting for device")
        XCTAssertEqual(after.steps, [.detachTC(ifindex: 3), .removeInterfaceEntry(ifindex: 3)])
    }

    /// One clsact filter of two (an attach that failed half way, an older
    /// daemon): both are attached when the interface is wanted, and what is
    /// there is removed when it is not.
    func testHalfAttachedTCIsCompletedOrRemoved() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", mac: macA, xdpFeatures: []),
                                      ViewLink(ifindex: 4, name: "eth1", mac: macB, xdpFeatures: [])])
        let entry = InterfaceEntry(mac: macA, slot: 1, flags: .policyConntrack)
        let wanted = plan(config(iface("lan", "eth0", mode: .tc)), view,
                          attached: [AttachedState(ifindex: 3, tcPartial: true, entry: entry)])
        XCTAssertEqual(wanted.steps, [.attachTC(ifindex: 3)])
        let leaving = plan(config(iface("lan", "eth0", mode: .tc)), view,
                           attached: [AttachedState(ifindex: 3, tc: true, entry: entry),
                                      AttachedState(ifindex: 4, tcPartial: true)])
        XCTAssertEqual(leaving.steps, [.detachTC(ifindex: 4)])
    }

    func testNewSlotsAvoidEntriesBeingRemoved() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0"), ViewLink(ifindex: 4, name: "eth1")])
        let attached = [AttachedState(ifindex: 3, tc: true, entry: InterfaceEntry(mac: [], slot: 1, flags: .policyConntrack))]
        let result = plan(config(iface("b", "eth1")), view, attached: attached)
        XCTAssertEqual(result.interfaces[0].slot, 2, "slot 1's counters still belong to eth0")
    }

    // MARK: - Redirect targets

    func testRedirectTargetsAreUpDevicesThatTakeXDPFrames() {
        let view = KernelView(links: [
            ViewLink(ifindex: 9, name: "eth2", xdpFeatures: [.basic, .ndoXmit]),
            ViewLink(ifindex: 2, name: "eth0", xdpFeatures: [.basic, .redirect, .ndoXmit]),
            ViewLink(ifindex: 5, name: "wlan0", xdpFeatures: [.basic]),
            ViewLink(ifindex: 6, name: "br-lan", xdpFeatures: nil),
            ViewLink(ifindex: 7, name: "eth3", isUp: false, xdpFeatures: [.ndoXmit]),
            ViewLink(ifindex: 4, name: "eth1", xdpFeatures: [.ndoXmit]),
        ])
        let result = plan(config(iface("lan", "br-lan", mode: .tc)), view, targets: [4, 5, 11])
        XCTAssertEqual(result.redirectTargets, [2, 4, 9])
        XCTAssertEqual(result.steps, [
            .setInterfaceEntry(ifindex: 6, entry: InterfaceEntry(mac: [], slot: 1, flags: .policyConntrack)),
            .addRedirectTarget(ifindex: 2),
            .addRedirectTarget(ifindex: 9),
            .attachTC(ifindex: 6),
            .removeRedirectTarget(ifindex: 5),
            .removeRedirectTarget(ifindex: 11),
        ])
    }

    func testSettingsAreAppliedFirstAndOnlyWhenTheyDiffer() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: [])])
        var cfg = config(iface("lan", "eth0"))
        cfg.globals.ipv6 = false
        cfg.globals.valveTimeout = 7
        let wanted = DataPathSettings(ipv4: true, ipv6: false, valveMilliseconds: 7000)
        let fresh = ReconcilePlanner.plan(config: cfg, view: view, attached: [:], currentRedirectTargets: [], maxSlot: maxSlot,
                                          currentSettings: DataPathSettings(ipv4: false, ipv6: false, valveMilliseconds: 0))
        XCTAssertEqual(fresh.steps.first, .applySettings(wanted))
        XCTAssertEqual(fresh.steps.filter { $0.ifindex == nil }.count, 1)
        let same = ReconcilePlanner.plan(config: cfg, view: view, attached: [:], currentRedirectTargets: [], maxSlot: maxSlot,
                                         currentSettings: wanted)
        XCTAssertFalse(same.steps.contains(.applySettings(wanted)))
    }

    func testFlowTableIngressesAreTheActiveConntrackInterfaces() {
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0", xdpFeatures: []),
                                      ViewLink(ifindex: 4, name: "eth1", xdpFeatures: []),
                                      ViewLink(ifindex: 5, name: "eth2", xdpFeatures: [])])
        let cfg = config(iface("lan", "eth0"), iface("guest", "eth1", policy: .routing),
                         iface("wan", "eth2", wan: true), iface("off", "eth3"), iface("spare", "eth2x", mode: .off))
        XCTAssertEqual(plan(cfg, view).flowTableIngresses, [3, 5])
        XCTAssertEqual(plan(config(iface("lan", "eth0"), enabled: false), view).flowTableIngresses, [])
    }

    func testNetifdInterfacesAttachToTheDeviceNetifdReports() {
        var wan = iface("wan", "", wan: true)
        wan.network = "wan"
        var lan = iface("lan", "br-lan")
        lan.network = "lan"
        let view = KernelView(links: [ViewLink(ifindex: 3, name: "br-lan", xdpFeatures: []),
                                      ViewLink(ifindex: 7, name: "pppoe-wan", xdpFeatures: [])])
        func planned(_ netifd: [String: String]) -> [InterfacePlan] {
            ReconcilePlanner.plan(config: config(lan, wan), view: view, attached: [:], currentRedirectTargets: [], maxSlot: maxSlot,
                                  currentSettings: DataPathSettings(FastPathConfig.Globals()), networkDevices: netifd).interfaces
        }
        let down = planned(["lan": "br-lan"])
        XCTAssertEqual(down.map { $0.ifindex }, [3, nil])
        XCTAssertEqual(down[1].reason, "waiting for netifd interface 'wan' to have a device")
        XCTAssertEqual(down[1].device, "")
        let up = planned(["lan": "br-lan", "wan": "pppoe-wan"])
        XCTAssertEqual(up.map { $0.device }, ["br-lan", "pppoe-wan"])
        XCTAssertEqual(up.map { $0.mode }, [.tc, .tc])
        // Two interfaces on one device that ask for different things (here
        // wan '1' and not): neither is attached, whichever came first.
        let conflict = planned(["lan": "br-lan", "wan": "br-lan"])
        XCTAssertEqual(conflict.map { $0.mode }, [.none, .none])
        XCTAssertEqual(conflict.map { $0.reason }, ["device 'br-lan' is also used by interface 'wan' with other settings",
                                                    "device 'br-lan' is also used by interface 'lan' with other settings"])
        // Alike (wan and wan6 on one port): the first has it.
        var wan6 = iface("wan6", "", wan: true)
        wan6.network = "wan6"
        let shared = ReconcilePlanner.plan(config: config(wan, wan6), view: view, attached: [:], currentRedirectTargets: [],
                                           maxSlot: maxSlot, currentSettings: DataPathSettings(FastPathConfig.Globals()),
                                           networkDevices: ["wan": "pppoe-wan", "wan6": "pppoe-wan"]).interfaces
        XCTAssertEqual(shared.map { $0.mode }, [.tc, .none])
        XCTAssertEqual(shared[1].reason, "device 'pppoe-wan' is already used by interface 'wan'")
    }

    func testNetworkDevicesFileLines() {
        XCTAssertEqual(NetworkDevices.parse("lan br-lan\nwan pppoe-wan\n\nbad line here\n"),
                       ["lan": "br-lan", "wan": "pppoe-wan"])
        XCTAssertEqual(NetworkDevices.parse(""), [:])
    }

    func testKernelViewLinkUpdates() {
        var view = KernelView(links: [ViewLink(ifindex: 3, name: "eth0")])
        XCTAssertEqual(view.link(named: "eth0")?.ifindex, 3)
        view.apply(ViewLink(ifindex: 3, name: "lan0"))
        XCTAssertNil(view.link(named: "eth0"))
        XCTAssertEqual(view.link(named: "lan0")?.ifindex, 3)
        XCTAssertEqual(view.removeLink(ifindex: 3)?.name, "lan0")
        XCTAssertNil(view.link(ifindex: 3))
        XCTAssertNil(view.removeLink(ifindex: 3))
        XCTAssertEqual(XDPFeatureSet([.basic, .redirect, .ndoXmit, .xskZerocopy, .hwOffload, .rxSG, .ndoXmitSG]).names,
                       ["basic", "redirect", "ndo-xmit", "xsk-zerocopy", "hw-offload", "rx-sg", "ndo-xmit-sg"])
        XCTAssertEqual(AttachedState(ifindex: 1, xdp: .generic, tc: true).mode, .xdpGeneric)
        XCTAssertEqual(AttachedState(ifindex: 1, tc: true).mode, .tc)
        XCTAssertEqual(EffectiveMode.allCases.map { $0.rawValue }, ["xdp-native", "xdp-generic", "tc", "none"])
    }
}
