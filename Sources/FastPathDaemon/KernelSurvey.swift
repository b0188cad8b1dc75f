import FastPathCore
import FastPathKernel

/// What fastpath has attached right now, read back from the kernel: the
/// ground truth a restarted daemon adopts instead of re-attaching.
enum KernelSurvey {
    /// The fastpath program attached in XDP on `ifindex`, if any (a foreign
    /// program is not ours and is reported as none).
    static func xdpMode(ifindex: UInt32) -> XDPMode? {
        guard let status = try? XDPAttachment.query(ifindex: ifindex) else { return nil }
        if status.nativeProgramID != 0 && isOurs(status.nativeProgramID) { return .native }
        if status.genericProgramID != 0 && isOurs(status.genericProgramID) { return .generic }
        return nil
    }

    /// How many of fastpath's two clsact filters (ingress, egress) are there.
    static func ourTCFilters(ifindex: UInt32) -> Int {
        var count = 0
        for hook in [TCAttachment.Hook.ingress, .egress] {
            if let id = try? TCAttachment.query(ifindex: ifindex, hook: hook), isOurs(id) { count += 1 }
        }
        return count
    }

    /// The IPv4 reverse-path filter the kernel applies on `device`: the
    /// larger of `conf/all/rp_filter` and the device's own (0, 1 or 2).
    static func reversePathFilter(of device: String) -> UInt8 {
        func value(_ name: String) -> UInt8 {
            let text = (try? SmallFile.read("/proc/sys/net/ipv4/conf/\(name)/rp_filter")) ?? nil
            return UInt8(text?.split(separator: "\n").first ?? "") ?? 0
        }
        return max(value("all"), value(device))
    }

    static func isOurs(_ programID: UInt32) -> Bool {
        guard let program = try? BPFProgram.open(id: programID) else { return false }
        return DataPath.programNames.contains(program.name)
    }

    /// Replaces, in place and without a gap, fastpath's programs attached
    /// on `ifindexes` that use other maps of fastpath's names than
    /// `dataPath`'s: left attached by a daemon whose maps had another shape
    /// (`max_flows`, another version), or by a start that failed half way.
    /// Programs that share the maps (a restart) are adopted as they are.
    /// Returns how many were replaced, and what could not be.
    static func replaceStaleAttachments(on ifindexes: [UInt32], with dataPath: DataPath) -> (replaced: Int, problems: [String]) {
        let ours = dataPath.pinnedMapIDs
        func stale(_ id: UInt32, named name: String) -> BPFProgram? {
            guard id != 0, let program = try? BPFProgram.open(id: id), program.name == name,
                  let maps = try? program.mapIDs() else { return nil }
            for mapID in maps {
                guard let map = try? BPFMapInfo(id: mapID), let current = ours[map.name] else { continue }
                if current != mapID { return program }
            }
            return nil
        }
        var replaced = 0
        var problems: [String] = []
        for ifindex in ifindexes {
            do {
                if let status = try? XDPAttachment.query(ifindex: ifindex) {
                    for (id, mode) in [(status.nativeProgramID, XDPMode.native), (status.genericProgramID, .generic)] {
                        guard let old = stale(id, named: dataPath.xdp.name) else { continue }
                        _ = try XDPAttachment.attach(dataPath.xdp, ifindex: ifindex, mode: mode, existing: .replaceOnly(old))
                        replaced += 1
                    }
                }
                for (hook, program) in [(TCAttachment.Hook.ingress, dataPath.tc), (.egress, dataPath.tcEgress)] {
                    guard let id = try? TCAttachment.query(ifindex: ifindex, hook: hook),
                          stale(id, named: program.name) != nil else { continue }
                    _ = try TCAttachment.attach(program, ifindex: ifindex, hook: hook)
                    replaced += 1
                }
            } catch {
                problems.append(error.description)
            }
        }
        return (replaced, problems)
    }

    /// Attached state of every interface that has anything of fastpath's.
    static func attachedState(of ifindexes: [UInt32], entries: [(ifindex: UInt32, entry: InterfaceEntry)]) -> [UInt32: AttachedState] {
        var result: [UInt32: AttachedState] = [:]
        for ifindex in ifindexes {
            let filters = ourTCFilters(ifindex: ifindex)
            let state = AttachedState(ifindex: ifindex, xdp: xdpMode(ifindex: ifindex), tc: filters == 2,
                                      tcPartial: filters == 1)
            if !state.isEmpty { result[ifindex] = state }
        }
        for (ifindex, entry) in entries {
            var state = result[ifindex] ?? AttachedState(ifindex: ifindex)
            state.entry = entry
            result[ifindex] = state
        }
        return result
    }
}
