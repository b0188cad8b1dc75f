import CFastPathShim
import FastPathCore

/// Loads the fastpath object with every optional capability the running
/// kernel allows, and says which are off and why.
///
/// The essentials are probed first (a kernel without them gets one error
/// naming what is missing). Each optional capability of the programs is
/// probed by a real load of a tiny program (the manager's own, by asking
/// the kernel); then the object is loaded with the survivors
/// switched on in `fp_features`. Should the verifier still refuse a helper
/// of an optional capability, that capability goes off and the load is
/// tried again; a refused helper that belongs to none is an essential one.
enum CapabilityLoader {
    /// `refusal` is the probe (tests replace it to reach the retry).
    static func load(path: String, pinDirectory: String?, maxEntries: [String: UInt32],
                     turnedOff: Set<KernelCapability>,
                     refusal: (KernelCapability) -> String? = KernelProbe.refusal(of:))
        throws(FastPathError) -> (BPFObject, CapabilityReport) {
        if let missing = KernelProbe.missingEssential() { throw missing }
        var report = CapabilityReport(kernelRelease: KernelProbe.release)
        for capability in KernelCapability.allCases {
            if turnedOff.contains(capability) {
                report.degraded.append(.init(capability, why: CapabilityReport.turnedOffByConfig))
            } else if let why = refusal(capability) {
                report.degraded.append(.init(capability, why: why))
            }
        }
        while true {
            do {
                let object = try BPFObject(path: path, pinDirectory: pinDirectory, maxEntries: maxEntries,
                                           readOnlyData: [FP_FEATURES_SECTION: featureBytes(report)])
                return (object, report)
            } catch {
                guard case .refusedHelper(let helper) = error.code else { throw error }
                guard let capability = KernelProbe.capability(usingHelper: helper), !report.isOff(capability) else {
                    throw FastPathError("the verifier refuses \(helper), which fastpath needs", subject: "kernel \(report.kernelRelease)",
                                        hint: error.hint)
                }
                report.degraded.append(.init(capability, why: "kernel refuses \(helper)"))
                report.degraded.sort { index(of: $0.capability) < index(of: $1.capability) }
            }
        }
    }

    /// `fp_features` as the object holds it: the bits of what is on, host order.
    static func featureBytes(_ report: CapabilityReport) -> [UInt8] {
        var bits = FP_FEATURES_ALL
        for degraded in report.degraded { bits &= ~(degraded.capability.featureBit ?? 0) }
        return withUnsafeBytes(of: bits) { Array($0) }
    }

    private static func index(of capability: KernelCapability) -> Int {
        KernelCapability.allCases.firstIndex(of: capability) ?? 0
    }
}
