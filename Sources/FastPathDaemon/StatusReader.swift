import FastPathCore
import FastPathKernel

/// Builds `fastpath status` from what a daemon left behind: the applied
/// state in the run directory and the counters in the pinned maps. It works
/// whether or not the daemon is alive, and never talks to it.
public enum StatusReader {
    public static func read(paths: DaemonPaths) throws(FastPathError) -> StatusReport {
        guard let text = try SmallFile.read(paths.stateFile) else {
            throw FastPathError("no state: is the daemon running? (fastpath daemon)", subject: paths.stateFile)
        }
        let state: RunState
        do {
            state = try RunState.decode(text)
        } catch {
            throw FastPathError("unreadable state: \(error.description)", subject: paths.stateFile)
        }
        let stats = try DataPath.openPinnedStats(in: paths.pinDirectory)
        var interfaces: [InterfaceStatus] = []
        for interface in state.interfaces {
            var counters = InterfaceCounters()
            if let slot = interface.slot { counters = try DataPath.counters(in: stats, slot: slot) }
            var passed: [PassCount] = []
            for (index, name) in InterfaceCounters.reasonNames.enumerated() {
                passed.append(PassCount(reason: name, count: counters.passed[index]))
            }
            interfaces.append(InterfaceStatus(name: interface.device.isEmpty ? interface.section : interface.device,
                                              ifindex: interface.ifindex,
                                              requested: interface.requested.rawValue, mode: interface.mode,
                                              reason: interface.reason, forwardedPackets: counters.forwardedPackets,
                                              forwardedBytes: counters.forwardedBytes, passed: passed))
        }
        return StatusReport(interfaces: interfaces, capabilities: state.capabilities)
    }
}
