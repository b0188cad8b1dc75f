import CFastPathShim
import FastPathCore

extension XDPMode {
    /// `XDP_FLAGS_DRV_MODE` (native) or `XDP_FLAGS_SKB_MODE` (generic).
    var flag: UInt32 { self == .native ? FP_XDP_FLAGS_DRV_MODE : FP_XDP_FLAGS_SKB_MODE }
}

/// What `XDPAttachment.query` found on an interface.
public struct XDPStatus: Equatable {
    /// How it is attached (`none` when no program is).
    public enum Mode: Equatable { case none, native, generic, offload, multiple }
    public var mode: Mode
    /// The attached program's id, 0 if none (or several: see the per-mode ids).
    public var programID: UInt32
    public var nativeProgramID: UInt32
    public var genericProgramID: UInt32
    public var offloadProgramID: UInt32
}

/// An XDP program attached to an interface (netlink attach, no bpf_link:
/// it stays attached when the process exits, which is what restart-safety
/// needs). A value: `detach()` removes it explicitly.
public struct XDPAttachment: Equatable {
    public let ifindex: UInt32
    public let mode: XDPMode
    public let programID: UInt32

    /// What to do about a program already attached in the same mode.
    public enum Existing {
        /// Replace whatever is there (atomically; no gap).
        case replace
        /// Fail with EBUSY if something is attached (`XDP_FLAGS_UPDATE_IF_NOEXIST`).
        case failIfAttached
        /// Replace only if `program` is the one attached (`XDP_FLAGS_REPLACE`):
        /// fails with EEXIST if another one is.
        case replaceOnly(BPFProgram)
    }

    /// Attaches `program` to `ifindex` in `mode`.
    public static func attach(
        _ program: BPFProgram, ifindex: UInt32, mode: XDPMode, existing: Existing = .replace
    ) throws(FastPathError) -> XDPAttachment {
        var flags = mode.flag
        var oldFD: Int32 = -1
        switch existing {
        case .replace: break
        case .failIfAttached: flags |= FP_XDP_FLAGS_UPDATE_IF_NOEXIST
        case .replaceOnly(let old):
            flags |= FP_XDP_FLAGS_REPLACE
            oldFD = old.descriptor.rawValue
        }
        let rc = fp_xdp_attach(Int32(bitPattern: ifindex), program.descriptor.rawValue, flags, oldFD)
        if rc < 0 {
            var hint: String? = nil
            if rc == -EOPNOTSUPP && mode == .native { hint = "the driver has no native XDP: use generic or tc" }
            if rc == -EBUSY || rc == -EEXIST {
                hint = "another XDP program is attached (in this or the other mode); native and generic cannot be mixed"
            }
            if rc == -ERANGE { hint = "check the MTU: native XDP on some drivers limits it (e.g. 3520 on veth)" }
            throw FastPathError.fromReturn(rc, "attach XDP program \(program.name) in \(mode.rawValue) mode",
                                           subject: interfaceLabel(ifindex), hint: hint)
        }
        return XDPAttachment(ifindex: ifindex, mode: mode, programID: program.id)
    }

    /// Detaches this program; fails with EEXIST if another one replaced it meanwhile.
    public func detach() throws(FastPathError) {
        let program = try BPFProgram.open(id: programID)
        try XDPAttachment.detach(ifindex: ifindex, mode: mode, expected: program)
    }

    /// Detaches whatever is attached in `mode` (or only `expected`, if given).
    /// Detaching when nothing is attached succeeds.
    public static func detach(ifindex: UInt32, mode: XDPMode, expected: BPFProgram? = nil) throws(FastPathError) {
        var flags = mode.flag
        if expected != nil { flags |= FP_XDP_FLAGS_REPLACE }
        let rc = fp_xdp_detach(Int32(bitPattern: ifindex), flags, expected?.descriptor.rawValue ?? -1)
        try check(rc, "detach XDP program (\(mode.rawValue) mode)", subject: interfaceLabel(ifindex),
                  hint: rc == -EEXIST ? "a different program is attached than expected" : nil)
    }

    /// What XDP program, if any, is attached to `ifindex` and how.
    public static func query(ifindex: UInt32) throws(FastPathError) -> XDPStatus {
        var prog: UInt32 = 0, drv: UInt32 = 0, skb: UInt32 = 0, hw: UInt32 = 0
        var attachMode: UInt8 = 0
        let rc = fp_xdp_query(Int32(bitPattern: ifindex), &prog, &drv, &skb, &hw, &attachMode)
        try check(rc, "query XDP attachment", subject: interfaceLabel(ifindex))
        let mode: XDPStatus.Mode
        switch Int32(attachMode) {
        case FP_XDP_ATTACHED_DRV: mode = .native
        case FP_XDP_ATTACHED_SKB: mode = .generic
        case FP_XDP_ATTACHED_HW: mode = .offload
        case FP_XDP_ATTACHED_MULTI: mode = .multiple
        default: mode = .none
        }
        return XDPStatus(mode: mode, programID: prog, nativeProgramID: drv, genericProgramID: skb,
                         offloadProgramID: hw)
    }
}
