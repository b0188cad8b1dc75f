/// What the daemon applied, written to `<run-dir>/state` so the CLI can show
/// status without talking to it.
///
/// Text, one record per line, fields separated by tabs:
/// ```
/// fastpath-state	2	<pid>
/// kernel	<release>	<number of degraded capabilities>
/// <capability>	<why>                   (one line per degraded capability)
/// <device>	<section>	<ifindex>	<requested>	<mode>	<slot>	<reason>
/// ```
/// `ifindex` is 0 for an absent device, `slot` is empty when there is none.
/// In every field `\` is written `\\`, a tab `\t`, a newline `\n`, a carriage
/// return `\r`.
public struct RunState: Equatable {
    public static let formatVersion = 2
    static let magic = "fastpath-state"

    public struct Interface: Equatable {
        public var device: String
        public var section: String
        /// 0 when the device does not exist.
        public var ifindex: UInt32
        public var requested: FastPathConfig.Mode
        public var mode: EffectiveMode
        public var slot: UInt32?
        public var reason: String

        public init(device: String, section: String, ifindex: UInt32, requested: FastPathConfig.Mode,
                    mode: EffectiveMode, slot: UInt32?, reason: String) {
            self.device = device
            self.section = section
            self.ifindex = ifindex
            self.requested = requested
            self.mode = mode
            self.slot = slot
            self.reason = reason
        }
    }

    /// The daemon that wrote the state.
    public var pid: Int32
    /// The kernel the data path was loaded into and what it had to leave off.
    public var capabilities: CapabilityReport
    public var interfaces: [Interface]

    public init(pid: Int32, capabilities: CapabilityReport, interfaces: [Interface]) {
        self.pid = pid
        self.capabilities = capabilities
        self.interfaces = interfaces
    }

    /// The state a plan leaves behind.
    public init(pid: Int32, capabilities: CapabilityReport, plan: ReconcilePlan) {
        self.pid = pid
        self.capabilities = capabilities
        self.interfaces = []
        for interface in plan.interfaces {
            interfaces.append(Interface(device: interface.device, section: interface.section,
                                        ifindex: interface.ifindex ?? 0, requested: interface.requested,
                                        mode: interface.mode, slot: interface.slot, reason: interface.reason))
        }
    }

    /// Previous slots to hand the planner after a restart.
    public var slotsByDevice: [String: UInt32] {
        var result: [String: UInt32] = [:]
        for interface in interfaces where !interface.device.isEmpty {
            if let slot = interface.slot { result[interface.device] = slot }
        }
        return result
    }

    // MARK: Encoding

    public func encoded() -> String {
        var out = "\(RunState.magic)\t\(RunState.formatVersion)\t\(pid)\n"
        out += "kernel\t\(RunState.escape(capabilities.kernelRelease))\t\(capabilities.degraded.count)\n"
        for degraded in capabilities.degraded {
            out += "\(degraded.capability.rawValue)\t\(RunState.escape(degraded.why))\n"
        }
        for interface in interfaces {
            let fields = [
                interface.device, interface.section, "\(interface.ifindex)", interface.requested.rawValue,
                interface.mode.rawValue, interface.slot.map { "\($0)" } ?? "", interface.reason,
            ]
            var line = ""
            for (i, field) in fields.enumerated() {
                if i > 0 { line += "\t" }
                line += RunState.escape(field)
            }
            out += line + "\n"
        }
        return out
    }

    /// Parses `encoded()` output. Anything else is an error naming the line.
    public static func decode(_ text: String) throws(RunStateError) -> RunState {
        var lines = split(Array(text.utf8), on: 0x0A)
        // A final newline leaves one empty piece.
        if lines.count > 1, lines[lines.count - 1].isEmpty { lines.removeLast() }
        guard let headerLine = lines.first, !headerLine.isEmpty else {
            throw RunStateError(line: 1, message: "empty state file")
        }
        let header = split(headerLine, on: 0x09)
        guard header.count == 3, String(decoding: header[0], as: UTF8.self) == magic else {
            throw RunStateError(line: 1, message: "not a fastpath state file")
        }
        guard let version = number(header[1]), version == UInt64(formatVersion) else {
            throw RunStateError(line: 1, message: "unsupported format version")
        }
        guard let pid = number(header[2]), pid > 0, pid <= UInt64(Int32.max) else {
            throw RunStateError(line: 1, message: "bad pid")
        }
        let capabilities = try decodeCapabilities(lines)
        var state = RunState(pid: Int32(pid), capabilities: capabilities, interfaces: [])
        let firstInterface = 2 + capabilities.degraded.count
        for (offset, bytes) in lines.dropFirst(firstInterface).enumerated() {
            let lineNumber = offset + firstInterface + 1
            let raw = split(bytes, on: 0x09)
            guard raw.count == 7 else {
                throw RunStateError(line: lineNumber, message: "expected 7 tab-separated fields, found \(raw.count)")
            }
            var fields: [String] = []
            for field in raw {
                guard let value = unescape(field) else {
                    throw RunStateError(line: lineNumber, message: "bad escape sequence")
                }
                fields.append(value)
            }
            // No device: a netifd interface that has none now; its section names it.
            guard !fields[0].isEmpty || !fields[1].isEmpty else {
                throw RunStateError(line: lineNumber, message: "neither a device nor a section")
            }
            guard let ifindex = number(raw[2]), ifindex <= UInt64(UInt32.max) else {
                throw RunStateError(line: lineNumber, message: "bad ifindex")
            }
            guard let requested = FastPathConfig.Mode(rawValue: fields[3]) else {
                throw RunStateError(line: lineNumber, message: "bad requested mode")
            }
            guard let mode = EffectiveMode(rawValue: fields[4]) else {
                throw RunStateError(line: lineNumber, message: "bad mode")
            }
            var slot: UInt32?
            if !raw[5].isEmpty {
                guard let value = number(raw[5]), value <= UInt64(UInt32.max) else {
                    throw RunStateError(line: lineNumber, message: "bad slot")
                }
                slot = UInt32(value)
            }
            state.interfaces.append(Interface(device: fields[0], section: fields[1], ifindex: UInt32(ifindex),
                                              requested: requested, mode: mode, slot: slot, reason: fields[6]))
        }
        return state
    }

    /// The kernel line (line 2) and the degraded capabilities after it.
    static func decodeCapabilities(_ lines: [[UInt8]]) throws(RunStateError) -> CapabilityReport {
        let kernel = lines.count > 1 ? split(lines[1], on: 0x09) : []
        guard kernel.count == 3, String(decoding: kernel[0], as: UTF8.self) == "kernel",
              let release = unescape(kernel[1]), let count = number(kernel[2]) else {
            throw RunStateError(line: 2, message: "expected the kernel line")
        }
        guard count <= UInt64(KernelCapability.allCases.count), lines.count >= 2 + Int(count) else {
            throw RunStateError(line: 2, message: "bad number of degraded capabilities")
        }
        var report = CapabilityReport(kernelRelease: release)
        for index in 2..<(2 + Int(count)) {
            let fields = split(lines[index], on: 0x09)
            guard fields.count == 2,
                  let capability = KernelCapability(rawValue: String(decoding: fields[0], as: UTF8.self)),
                  let why = unescape(fields[1]) else {
                throw RunStateError(line: index + 1, message: "expected a capability and why it is off")
            }
            report.degraded.append(CapabilityReport.Degraded(capability, why: why))
        }
        return report
    }

    // MARK: Fields

    static func escape(_ field: String) -> String {
        var out: [UInt8] = []
        for c in field.utf8 {
            switch c {
            case 0x5C: out += [0x5C, 0x5C]
            case 0x09: out += [0x5C, 0x74]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            default: out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil for a dangling or unknown escape.
    static func unescape(_ bytes: [UInt8]) -> String? {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            guard c == 0x5C else { out.append(c); continue }
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case 0x5C: out.append(0x5C)
            case 0x74: out.append(0x09)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            default: return nil
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decimal digits only, at most 19 (no overflow).
    static func number(_ bytes: [UInt8]) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 19 else { return nil }
        var value: UInt64 = 0
        for c in bytes {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            value = value * 10 + UInt64(c - 0x30)
        }
        return value
    }

    static func split(_ bytes: [UInt8], on separator: UInt8) -> [[UInt8]] {
        var pieces: [[UInt8]] = [[]]
        for c in bytes {
            if c == separator {
                pieces.append([])
            } else {
                pieces[pieces.count - 1].append(c)
            }
        }
        return pieces
    }
}

/// Why a state file could not be read.
public struct RunStateError: Error, Equatable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "state line \(line): \(message)" }
}
