import FastPathCore
import FastPathKernel

/// Carries out a `ReconcilePlan`'s steps, in the planner's order (which is
/// what makes a mode switch lose no packets). A step that fails is logged
/// and skipped; a native XDP attach the driver refuses becomes a refusal
/// the next plan falls back from.
final class PlanApplier {
    let dataPath: DataPath
    let qdiscs: QdiscRegistry
    let log: Log

    init(dataPath: DataPath, qdiscs: QdiscRegistry, log: Log) {
        self.dataPath = dataPath
        self.qdiscs = qdiscs
        self.log = log
    }

    struct Outcome {
        /// Device name → why native XDP could not be attached.
        var nativeRefusals: [String: String] = [:]
        var failures = 0
        /// The settings could not be written: nothing after them was done,
        /// since the programs would run under the settings of before.
        var settingsFailed = false
    }

    func apply(_ plan: ReconcilePlan, deviceNames: [UInt32: String]) -> Outcome {
        var outcome = Outcome()
        for step in plan.steps {
            let device = step.ifindex.map { deviceNames[$0] ?? "ifindex \($0)" } ?? "data path"
            do {
                try perform(step)
                log.debug("\(device): \(step.description)")
            } catch {
                if case .attachXDP(_, .native) = step {
                    outcome.nativeRefusals[device] = error.description
                    log.notice("\(device): native XDP refused, using tc: \(error.description)")
                } else {
                    outcome.failures += 1
                    log.error("\(device): \(step.description) failed: \(error.description)")
                    if case .applySettings = step {
                        outcome.settingsFailed = true
                        return outcome
                    }
                }
            }
        }
        return outcome
    }

    private func perform(_ step: ReconcileStep) throws(FastPathError) {
        switch step {
        case .applySettings(let settings):
            try dataPath.apply(settings)
        case .setInterfaceEntry(let ifindex, let entry):
            try dataPath.setInterface(ifindex: ifindex, entry)
        case .removeInterfaceEntry(let ifindex):
            try dataPath.removeInterface(ifindex: ifindex)
        case .addRedirectTarget(let ifindex):
            try dataPath.addRedirectTarget(ifindex: ifindex)
        case .removeRedirectTarget(let ifindex):
            try dataPath.removeRedirectTarget(ifindex: ifindex)
        case .attachTC(let ifindex):
            let attachment = try TCAttachment.attach(dataPath.tc, ifindex: ifindex)
            if attachment.createdQdisc { try qdiscs.add(ifindex) }
            _ = try TCAttachment.attach(dataPath.tcEgress, ifindex: ifindex, hook: .egress)
        case .detachTC(let ifindex):
            try Teardown.detachTC(ifindex: ifindex, qdiscs: qdiscs)
        case .attachXDP(let ifindex, let mode):
            _ = try XDPAttachment.attach(dataPath.xdp, ifindex: ifindex, mode: mode, existing: .failIfAttached)
        case .detachXDP(let ifindex, let mode):
            try Teardown.detachXDP(ifindex: ifindex, mode: mode)
        }
    }
}
