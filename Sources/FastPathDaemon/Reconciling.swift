import FastPathCore
import FastPathKernel

/// (config, kernel view, attached state) into a plan, applied.
extension Daemon {
    func reconcile() {
        needsReconcile = false
        for _ in 0..<3 {
            let entries: [(ifindex: UInt32, entry: InterfaceEntry)]
            let targets: [UInt32]
            let settings: DataPathSettings?
            do {
                (entries, targets, settings) = (try dataPath.interfaceEntries(), try dataPath.redirectTargets(), try dataPath.settings())
            } catch {
                log.error("read the data path's maps: \(error.description); nothing changed, trying again at the next wake-up")
                needsReconcile = true
                return
            }
            var surveyed = Set(entries.map { $0.ifindex })
            for interface in config.interfaces {
                if let device = interface.resolvedDevice(networkDevices), let link = view.link(named: device) {
                    surveyed.insert(link.ifindex)
                }
            }
            let attached = KernelSurvey.attachedState(of: Array(surveyed), entries: entries)
            let plan = ReconcilePlanner.plan(config: config, view: view, attached: attached,
                                             currentRedirectTargets: targets, maxSlot: DataPath.maxSlot,
                                             currentSettings: settings, networkDevices: networkDevices,
                                             nativeRefusals: nativeRefusals,
                                             previousSlots: slots)
            var names: [UInt32: String] = [:]
            for link in view.sortedLinks { names[link.ifindex] = link.name }
            let outcome = applier.apply(plan, deviceNames: names)
            if outcome.settingsFailed {
                needsReconcile = true
                return
            }
            slots = plan.slotsByDevice
            if outcome.nativeRefusals.isEmpty {
                // The mirror first: once the state is written (and status
                // answers), conntrack events are already being listened to.
                updateConntrackMirror(plan)
                record(plan)
                return
            }
            for (device, reason) in outcome.nativeRefusals { nativeRefusals[device] = reason }
        }
    }

    /// What the init script last said about the netifd interfaces the
    /// config names (nothing, off OpenWrt).
    func readNetworkDevices() {
        do {
            networkDevices = NetworkDevices.parse(try SmallFile.read(paths.networkDevicesFile) ?? "")
        } catch {
            log.warning("netifd devices: \(error.description)")
        }
    }

    /// Writes the applied state for `status` and logs what changed.
    func record(_ plan: ReconcilePlan) {
        for interface in plan.interfaces where lastModes[interface.section + " " + interface.device] != interface.mode {
            lastModes[interface.section + " " + interface.device] = interface.mode
            let why = interface.reason.isEmpty ? "" : " (\(interface.reason))"
            log.info("\(interface.device.isEmpty ? interface.section : interface.device): \(interface.mode.rawValue)\(why)")
        }
        ignoringErrors { () throws(FastPathError) in
            try SmallFile.write(paths.stateFile, RunState(pid: ProcessControl.pid, capabilities: dataPath.capabilities, plan: plan).encoded())
        }
    }

    /// Programs an earlier daemon attached are adopted when they share this
    /// daemon's maps. When pinned maps had another shape (a new
    /// `max_flows`, another version) they use the old ones: they are
    /// replaced in place by this object's. Checked at every start, so a
    /// start that failed half way is finished by the next.
    func adoptAttachedPrograms() {
        for pin in dataPath.replacedPins {
            let carried = pin.carriedOver.map { "\($0) entries carried over" } ?? "its layout changed, nothing carried over"
            log.info("pinned map \(pin.name) had another shape: replaced (\(carried))")
        }
        let outcome = KernelSurvey.replaceStaleAttachments(on: view.sortedLinks.map { $0.ifindex }, with: dataPath)
        if outcome.replaced > 0 { log.info("replaced \(outcome.replaced) attached programs that used the old maps") }
        for problem in outcome.problems { log.error("replace a program that uses the old maps: \(problem)") }
    }
}
