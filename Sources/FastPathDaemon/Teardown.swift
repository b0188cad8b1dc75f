import FastPathCore
import FastPathKernel

/// Removes what fastpath put into the kernel, and nothing else: its
/// programs (found by name), the clsact qdiscs it created, its pins and its
/// run-dir files. Used by SIGTERM (`stop`) and by `fastpath detach`.
public enum Teardown {
    static func detachXDP(ifindex: UInt32, mode: XDPMode) throws(FastPathError) {
        let status = try XDPAttachment.query(ifindex: ifindex)
        let id = mode == .native ? status.nativeProgramID : status.genericProgramID
        guard id != 0 else { return }
        let program = try BPFProgram.open(id: id)
        guard DataPath.programNames.contains(program.name) else { return }
        try XDPAttachment.detach(ifindex: ifindex, mode: mode, expected: program)
    }

    static func detachTC(ifindex: UInt32, qdiscs: QdiscRegistry) throws(FastPathError) {
        for hook in [TCAttachment.Hook.ingress, .egress] {
            if let id = try TCAttachment.query(ifindex: ifindex, hook: hook), KernelSurvey.isOurs(id) {
                try TCAttachment.detach(ifindex: ifindex, hook: hook)
            }
        }
        if qdiscs.load().contains(ifindex) {
            try TCAttachment.destroyClsact(ifindex: ifindex)
            try qdiscs.remove(ifindex)
        }
    }

    /// Sweeps every interface of the namespace; returns the problems met
    /// (empty when everything is gone).
    public static func removeEverything(paths: DaemonPaths) -> [String] {
        var problems: [String] = []
        let qdiscs = QdiscRegistry(path: paths.qdiscFile)
        let ifindexes: [UInt32]
        do {
            ifindexes = try InterfaceList.indexes()
        } catch {
            return [error.description]
        }
        for ifindex in ifindexes {
            do {
                try detachXDP(ifindex: ifindex, mode: .native)
                try detachXDP(ifindex: ifindex, mode: .generic)
                try detachTC(ifindex: ifindex, qdiscs: qdiscs)
            } catch {
                problems.append(error.description)
            }
        }
        do {
            for name in DataPath.mapNames {
                try SmallFile.remove(DataPath.pinPath(of: name, in: paths.pinDirectory))
            }
            try SmallFile.removeDirectory(paths.pinDirectory)
            try SmallFile.remove(paths.stateFile)
            try SmallFile.remove(paths.qdiscFile)
        } catch {
            problems.append(error.description)
        }
        return problems
    }
}
