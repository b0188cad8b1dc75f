import CFastPathShim
import CLibBPF
import FastPathCore

/// What the running kernel lets fastpath's programs do, found out by real
/// loads of tiny programs and by creating maps. Asking is not enough:
/// libbpf 1.1's helper probe answers "supported" for helpers a kernel
/// refuses. Helper probes are cached for the life of the process (the
/// shim); the others are asked anew, at start only.
public enum KernelProbe {
    /// `uname -r`.
    public static var release: String {
        withCharBuffer(count: 64) { fp_kernel_release($0, 64) }
    }

    /// `BPF_FIB_LOOKUP_MARK`, newer than the UAPI headers this builds with.
    static let fibLookupMark: UInt32 = 1 << 5

    /// One helper called from one program type.
    struct HelperUse {
        var name: String
        var id: bpf_func_id
        var programType: bpf_prog_type
        /// How the probe program sets up the arguments (`FP_PROBE_ARGS_*`).
        var arguments: Int32
    }

    /// Why this kernel cannot run fastpath at all (a program type, a map
    /// type or a helper it cannot do without), or nil.
    public static func missingEssential() -> FastPathError? {
        let subject = "kernel \(release)"
        for type in [BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS] {
            let rc = fp_probe_prog_type(type.rawValue)
            if rc < 0 { return probeFailed(rc, subject: subject) }
            if rc == 0 { return FastPathError("no BPF programs of type \(programTypeName(type)); fastpath needs them", subject: subject) }
        }
        let maps: [(bpf_map_type, String)] = [
            (BPF_MAP_TYPE_ARRAY, "array"), (BPF_MAP_TYPE_HASH, "hash"),
            (BPF_MAP_TYPE_PERCPU_ARRAY, "percpu_array"), (BPF_MAP_TYPE_DEVMAP_HASH, "devmap_hash"),
        ]
        for (type, name) in maps {
            let rc = fp_probe_map_type(type.rawValue)
            if rc < 0 { return probeFailed(rc, subject: subject) }
            if rc == 0 { return FastPathError("no BPF maps of type \(name); fastpath needs them", subject: subject) }
        }
        for type in [BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS] {
            let use = HelperUse(name: "bpf_fib_lookup", id: BPF_FUNC_fib_lookup, programType: type,
                                arguments: FP_PROBE_ARGS_FIB)
            switch probe(use) {
            case .allowed: continue
            case .refused(let verifier):
                return FastPathError("\(programTypeName(type)) programs may not call bpf_fib_lookup; fastpath needs it",
                                     subject: subject, hint: "verifier: " + verifier)
            case .failed(let error): return error
            }
        }
        return nil
    }

    /// Why the kernel refuses `capability` ("kernel refuses
    /// bpf_xdp_adjust_meta in xdp programs"), or nil when it has it. A probe
    /// that could not be made at all (no privileges) counts as a refusal.
    public static func refusal(of capability: KernelCapability) -> String? {
        if capability == .xdpFeatures {
            do {
                let probe = try XDPFeatureProbe()
                return probe.isSupported ? nil : "kernel has no netdev XDP features (generic netlink family netdev, Linux 6.3+)"
            } catch {
                return "probing the netdev XDP features failed: \(error.description)"
            }
        }
        if capability == .fibMark {
            switch fp_probe_fib_lookup_flag(KernelProbe.fibLookupMark) {
            case 1: return nil
            case 0: return "kernel refuses BPF_FIB_LOOKUP_MARK in bpf_fib_lookup (Linux 6.10+)"
            case let rc: return "probing BPF_FIB_LOOKUP_MARK failed: errno \(-rc)"
            }
        }
        for use in capability.helperUses {
            switch probe(use) {
            case .allowed: continue
            case .refused: return "kernel refuses \(use.name) in \(programTypeName(use.programType)) programs"
            case .failed(let error): return "probing \(use.name) failed: \(error.description)"
            }
        }
        return nil
    }

    /// The optional capability a helper belongs to, if any.
    static func capability(usingHelper name: String) -> KernelCapability? {
        KernelCapability.allCases.first { $0.helperUses.contains { $0.name == name } }
    }

    private enum ProbeOutcome {
        case allowed
        /// The verifier refused the call; its last line.
        case refused(String)
        /// The probe could not be made (no privileges).
        case failed(FastPathError)
    }

    /// Loads the probe program for `use`.
    private static func probe(_ use: HelperUse) -> ProbeOutcome {
        var rc: Int32 = 0
        let verifier = withCharBuffer(count: 160) {
            rc = fp_probe_helper(use.programType.rawValue, use.id.rawValue, use.arguments, $0, 160)
        }
        if rc == 1 { return .allowed }
        if rc < 0 { return .failed(FastPathError("probe \(use.name)", code: .errno(-rc), subject: "kernel \(release)")) }
        return .refused(verifier)
    }

    private static func probeFailed(_ rc: Int32, subject: String) -> FastPathError {
        FastPathError.fromReturn(rc, "probe the kernel's BPF support", subject: subject)
    }

    static func programTypeName(_ type: bpf_prog_type) -> String {
        type == BPF_PROG_TYPE_XDP ? "xdp" : type == BPF_PROG_TYPE_SCHED_CLS ? "tc" : "type \(type.rawValue)"
    }
}

extension KernelCapability {
    /// Its bit in the programs' `fp_features` (bpf/fastpath.h); nil for what
    /// only the manager uses.
    var featureBit: UInt32? {
        switch self {
        case .xdpTCHandoff: return FP_FEATURE_XDP_META
        case .redirectNeighbour: return FP_FEATURE_REDIRECT_NEIGH
        case .coarseClock: return FP_FEATURE_COARSE_CLOCK
        case .fibMark: return FP_FEATURE_FIB_MARK
        case .xdpFeatures: return nil
        }
    }

    /// The helper calls the programs make only while it is on.
    var helperUses: [KernelProbe.HelperUse] {
        switch self {
        case .xdpTCHandoff:
            return [.init(name: "bpf_xdp_adjust_meta", id: BPF_FUNC_xdp_adjust_meta,
                          programType: BPF_PROG_TYPE_XDP, arguments: FP_PROBE_ARGS_CTX)]
        case .redirectNeighbour:
            return [.init(name: "bpf_redirect_neigh", id: BPF_FUNC_redirect_neigh,
                          programType: BPF_PROG_TYPE_SCHED_CLS, arguments: FP_PROBE_ARGS_ZERO)]
        case .coarseClock:
            var uses: [KernelProbe.HelperUse] = []
            for type in [BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS] {
                uses.append(.init(name: "bpf_jiffies64", id: BPF_FUNC_jiffies64, programType: type,
                                  arguments: FP_PROBE_ARGS_CTX))
                uses.append(.init(name: "bpf_ktime_get_coarse_ns", id: BPF_FUNC_ktime_get_coarse_ns,
                                  programType: type, arguments: FP_PROBE_ARGS_CTX))
            }
            return uses
        case .xdpFeatures, .fibMark:
            return []
        }
    }
}
