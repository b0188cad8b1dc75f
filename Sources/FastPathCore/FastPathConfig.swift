/// The validated contents of `/etc/config/fastpath`.
///
/// ```
/// config globals 'globals'          # at most one
///     option enabled '1'            # bool
///     option mode 'auto'            # auto | native | generic | tc | off
///     option policy 'conntrack'     # conntrack | routing
///     option ipv4 '1'
///     option ipv6 '1'
///     option log_level 'info'       # debug | info | notice | warning | error
///     option max_flows '16384'      # 1..1048576
///     option valve_timeout '5'      # seconds, 1..3600
///     list disable_capability 'xdp_tc_handoff'  # optional kernel capabilities to leave off
///
/// config interface 'lan'            # any number
///     option device 'br-lan'        # unique; or (and, as the fallback) ...
///     option network 'lan'          # a netifd interface: netifd's device for it
///     option mode 'auto'            # default: globals.mode
///     option policy 'conntrack'     # default: globals.policy; never routing on wan
///     option wan '0'
///     option enabled '1'
/// ```
public struct FastPathConfig: Equatable {
    /// The attachment asked for. Raw values are the config words.
    public enum Mode: String, CaseIterable, Equatable {
        case auto, native, generic, tc, off
    }

    /// Which flows may be fast-pathed. Raw values are the config words.
    public enum Policy: String, CaseIterable, Equatable {
        /// Only flows conntrack has accepted (the firewall stays in charge).
        case conntrack
        /// Plain FIB forwarding, bypassing the firewall; refused on wan.
        case routing
    }

    public enum LogLevel: String, CaseIterable, Equatable {
        case debug, info, notice, warning, error
    }

    public struct Globals: Equatable {
        public var enabled = true
        public var mode = Mode.auto
        public var policy = Policy.conntrack
        public var ipv4 = true
        public var ipv6 = true
        public var logLevel = LogLevel.info
        public var maxFlows = 16384
        /// Seconds without a manager heartbeat before the programs pass
        /// everything to the kernel (the fail-safe valve).
        public var valveTimeout = 5
        /// Optional kernel capabilities the data path must not use, even
        /// where the kernel has them (a buggy driver; tests of the
        /// degraded paths). Takes effect when the daemon starts.
        public var disabledCapabilities: [KernelCapability] = []
        /// Line of the `config globals` statement; nil when there is none.
        public var line: Int?
        /// Lines of the `mode` and `policy` options; nil when defaulted.
        public var modeLine: Int?
        public var policyLine: Int?

        public init() {}
    }

    public struct Interface: Equatable {
        /// The section name, or `@interface[N]` for an anonymous section.
        public var name: String
        public var isAnonymous: Bool
        /// The Linux device named by `option device`; "" when only `network` names one.
        public var device: String
        /// The netifd interface named by `option network` (`wan`): its device
        /// is the one netifd reports, while it reports one.
        public var network: String?
        /// Effective mode: the interface's own or the globals' one.
        public var mode: Mode
        /// Effective policy: the interface's own or the globals' one.
        public var policy: Policy
        public var wan: Bool
        public var enabled: Bool
        /// Line of the `config interface` statement.
        public var line: Int
        public var deviceLine: Int
        /// Line that set the effective mode/policy (this section's option or
        /// the globals' one); nil when it is the built-in default.
        public var modeLine: Int?
        public var policyLine: Int?

        public init(name: String, isAnonymous: Bool = false, device: String, network: String? = nil,
                    mode: Mode = .auto, policy: Policy = .conntrack, wan: Bool = false, enabled: Bool = true,
                    line: Int, deviceLine: Int, modeLine: Int? = nil, policyLine: Int? = nil) {
            self.name = name
            self.isAnonymous = isAnonymous
            self.device = device
            self.network = network
            self.mode = mode
            self.policy = policy
            self.wan = wan
            self.enabled = enabled
            self.line = line
            self.deviceLine = deviceLine
            self.modeLine = modeLine
            self.policyLine = policyLine
        }

        /// The device to attach to: the one netifd reports for `network`
        /// (`networkDevices`: netifd interface → device), else `device`;
        /// nil while there is none.
        public func resolvedDevice(_ networkDevices: [String: String]) -> String? {
            if let network, let device = networkDevices[network] { return device }
            return device.isEmpty ? nil : device
        }
    }

    public var globals: Globals
    public var interfaces: [Interface]

    public init(globals: Globals = Globals(), interfaces: [Interface] = []) {
        self.globals = globals
        self.interfaces = interfaces
    }

    public static let sectionTypes = ["globals", "interface"]
    public static let globalsOptions = ["enabled", "mode", "policy", "ipv4", "ipv6", "log_level", "max_flows", "valve_timeout", "disable_capability"]
    public static let interfaceOptions = ["device", "network", "mode", "policy", "wan", "enabled"]
    public static let maxFlowsRange = 1...1_048_576
    public static let valveTimeoutRange = 1...3600

    /// Parses and validates the bytes of a config file. Every problem found
    /// is reported, sorted by line; a config is returned only when there is none.
    public static func parse(_ bytes: [UInt8], file: String) -> ConfigLoad {
        let parsed = UCIParser.parseCollecting(bytes, file: file)
        // Schema checks on a half-parsed file would mostly repeat the syntax errors.
        guard parsed.diagnostics.isEmpty else { return .invalid(parsed.diagnostics) }
        return validate(parsed.document)
    }

    /// Parses and validates the UTF-8 bytes of `text`.
    public static func parse(text: String, file: String) -> ConfigLoad {
        parse(Array(text.utf8), file: file)
    }

    /// Validates a parsed document against the schema.
    public static func validate(_ document: UCIDocument) -> ConfigLoad {
        var validator = Validator(document: document)
        let config = validator.run()
        if validator.diagnostics.isEmpty { return .valid(config) }
        return .invalid(sortedByLine(validator.diagnostics))
    }

    /// A stable sort: problems on one line keep the order they were found in.
    private static func sortedByLine(_ diagnostics: [ConfigDiagnostic]) -> [ConfigDiagnostic] {
        var result = diagnostics
        var i = 1
        while i < result.count {
            let item = result[i]
            var j = i - 1
            while j >= 0 && result[j].line > item.line {
                result[j + 1] = result[j]
                j -= 1
            }
            result[j + 1] = item
            i += 1
        }
        return result
    }
}

/// The outcome of loading a config: a valid config or every problem found.
public enum ConfigLoad: Equatable {
    case valid(FastPathConfig)
    case invalid([ConfigDiagnostic])

    public var config: FastPathConfig? {
        if case .valid(let config) = self { return config }
        return nil
    }

    public var diagnostics: [ConfigDiagnostic] {
        if case .invalid(let diagnostics) = self { return diagnostics }
        return []
    }
}

// MARK: - Validation

private struct Validator {
    let document: UCIDocument
    var diagnostics: [ConfigDiagnostic] = []

    init(document: UCIDocument) {
        self.document = document
    }

    mutating func run() -> FastPathConfig {
        var config = FastPathConfig()
        var firstGlobals: Int?
        for (position, section) in document.sections.enumerated() where section.type == "globals" {
            if let first = firstGlobals {
                report(position, line: section.line,
                       "only one globals section is allowed (the first is at line \(document.sections[first].line))")
                _ = readGlobals(position)  // still check its options
            } else {
                firstGlobals = position
                config.globals = readGlobals(position)
            }
        }
        for (position, section) in document.sections.enumerated() {
            switch section.type {
            case "globals":
                break
            case "interface":
                guard let interface = readInterface(position, globals: config.globals) else { continue }
                if let (option, name, other) = sameTarget(interface, config.interfaces) {
                    report(position, option: option, line: interface.deviceLine,
                           "\(option) '\(name)' is already used by interface '\(other.name)' (line \(other.deviceLine))")
                    continue
                }
                config.interfaces.append(interface)
            default:
                report(position, line: section.line, "unknown section type '\(section.type)'",
                       allowed: FastPathConfig.sectionTypes)
            }
        }
        return config
    }

    /// An earlier interface with the same device or netifd interface:
    /// (the option, its value, that interface).
    private func sameTarget(_ interface: FastPathConfig.Interface, _ earlier: [FastPathConfig.Interface])
        -> (String, String, FastPathConfig.Interface)? {
        for other in earlier {
            if !interface.device.isEmpty && other.device == interface.device { return ("device", interface.device, other) }
            if let network = interface.network, other.network == network { return ("network", network, other) }
        }
        return nil
    }

    // MARK: Sections

    private mutating func readGlobals(_ position: Int) -> FastPathConfig.Globals {
        let section = document.sections[position]
        var globals = FastPathConfig.Globals()
        globals.line = section.line
        for option in section.options {
            switch option.name {
            case "enabled": globals.enabled = bool(position, option) ?? globals.enabled
            case "ipv4": globals.ipv4 = bool(position, option) ?? globals.ipv4
            case "ipv6": globals.ipv6 = bool(position, option) ?? globals.ipv6
            case "mode":
                if let mode = word(position, option, FastPathConfig.Mode.self) {
                    globals.mode = mode
                    globals.modeLine = option.line
                }
            case "policy":
                if let policy = word(position, option, FastPathConfig.Policy.self) {
                    globals.policy = policy
                    globals.policyLine = option.line
                }
            case "log_level":
                globals.logLevel = word(position, option, FastPathConfig.LogLevel.self) ?? globals.logLevel
            case "max_flows":
                globals.maxFlows = integer(position, option, FastPathConfig.maxFlowsRange) ?? globals.maxFlows
            case "valve_timeout":
                globals.valveTimeout = integer(position, option, FastPathConfig.valveTimeoutRange) ?? globals.valveTimeout
            case "disable_capability":
                for capability in capabilities(position, option) where !globals.disabledCapabilities.contains(capability) {
                    globals.disabledCapabilities.append(capability)
                }
            default:
                unknown(position, option, allowed: FastPathConfig.globalsOptions)
            }
        }
        return globals
    }

    private mutating func readInterface(_ position: Int, globals: FastPathConfig.Globals) -> FastPathConfig.Interface? {
        let section = document.sections[position]
        var device: (name: String, line: Int)?
        var network: (name: String, line: Int)?
        var deviceSeen = false
        var mode = globals.mode
        var modeLine = globals.modeLine
        var policy = globals.policy
        var policyLine = globals.policyLine
        var policyIsOwn = false
        var policyValid = true
        var wan = false
        var enabled = true
        for option in section.options {
            switch option.name {
            case "device":
                deviceSeen = true
                device = deviceName(position, option).map { ($0, option.line) }
            case "network":
                deviceSeen = true
                network = networkName(position, option).map { ($0, option.line) }
            case "mode":
                if let value = word(position, option, FastPathConfig.Mode.self) {
                    mode = value
                    modeLine = option.line
                }
            case "policy":
                if let value = word(position, option, FastPathConfig.Policy.self) {
                    policy = value
                    policyLine = option.line
                    policyIsOwn = true
                } else {
                    policyValid = false
                }
            case "wan": wan = bool(position, option) ?? wan
            case "enabled": enabled = bool(position, option) ?? enabled
            default:
                unknown(position, option, allowed: FastPathConfig.interfaceOptions)
            }
        }
        if !deviceSeen {
            report(position, option: "device", line: section.line,
                   "missing option 'device' (the Linux interface name) or 'network' (the interface in /etc/config/network)")
        }
        if wan && policy == .routing && policyValid {
            let origin = policyIsOwn ? "" : " (inherited from globals)"
            report(position, option: "policy", line: policyLine ?? section.line,
                   "policy 'routing'\(origin) forwards without the firewall and is refused on a wan interface; use 'conntrack'")
        }
        guard let named = device ?? network else { return nil }
        return FastPathConfig.Interface(
            name: document.displayName(ofSectionAt: position), isAnonymous: section.isAnonymous,
            device: device?.name ?? "", network: network?.name, mode: mode, policy: policy, wan: wan,
            enabled: enabled, line: section.line, deviceLine: named.line, modeLine: modeLine, policyLine: policyLine)
    }

    // MARK: Values

    private mutating func report(_ position: Int, option: String? = nil, line: Int, _ message: String,
                                 allowed: [String]? = nil) {
        let section = document.sections[position]
        diagnostics.append(ConfigDiagnostic(
            file: document.file, line: line, sectionType: section.type,
            sectionName: document.displayName(ofSectionAt: position),
            option: option, message: message, allowed: allowed))
    }

    private mutating func unknown(_ position: Int, _ option: UCIOption, allowed: [String]) {
        report(position, option: option.name, line: option.line, "unknown option", allowed: allowed)
    }

    /// The value of a single-value option; a `list` is reported.
    private mutating func single(_ position: Int, _ option: UCIOption) -> [UInt8]? {
        if option.isList {
            report(position, option: option.name, line: option.line,
                   "takes a single value: use 'option \(option.name) VALUE', not 'list'")
            return nil
        }
        return option.value
    }

    private static let trueWords = ["1", "yes", "on", "true", "enabled"]
    private static let falseWords = ["0", "no", "off", "false", "disabled"]
    private static let boolWords = ["1", "0", "yes", "no", "on", "off", "true", "false", "enabled", "disabled"]

    private mutating func bool(_ position: Int, _ option: UCIOption) -> Bool? {
        guard let value = single(position, option) else { return nil }
        if Validator.trueWords.contains(where: { $0.utf8.elementsEqual(value) }) { return true }
        if Validator.falseWords.contains(where: { $0.utf8.elementsEqual(value) }) { return false }
        report(position, option: option.name, line: option.line, "invalid value '\(ByteText.shown(value))'",
               allowed: Validator.boolWords)
        return nil
    }

    private mutating func word<Word: RawRepresentable & CaseIterable>(
        _ position: Int, _ option: UCIOption, _ type: Word.Type
    ) -> Word? where Word.RawValue == String {
        guard let value = single(position, option) else { return nil }
        var allowed: [String] = []
        for word in Word.allCases {
            if word.rawValue.utf8.elementsEqual(value) { return word }
            allowed.append(word.rawValue)
        }
        report(position, option: option.name, line: option.line, "invalid value '\(ByteText.shown(value))'", allowed: allowed)
        return nil
    }

    /// Capability words: one per `list` value, or several separated by
    /// spaces in an `option` (as OpenWrt's list options accept).
    private mutating func capabilities(_ position: Int, _ option: UCIOption) -> [KernelCapability] {
        var result: [KernelCapability] = []
        for (value, line) in zip(option.values, option.lines) {
            for word in value.split(separator: 0x20) {
                if let capability = KernelCapability.allCases.first(where: { $0.rawValue.utf8.elementsEqual(word) }) {
                    result.append(capability)
                } else {
                    report(position, option: option.name, line: line, "invalid value '\(ByteText.shown(Array(word)))'",
                           allowed: KernelCapability.allCases.map { $0.rawValue })
                }
            }
        }
        return result
    }

    private mutating func integer(_ position: Int, _ option: UCIOption, _ range: ClosedRange<Int>) -> Int? {
        guard let value = single(position, option) else { return nil }
        // Decimal digits only; more than 9 is out of every range used here.
        var number = 0
        var digits = 0
        for c in value {
            guard c >= 0x30 && c <= 0x39, digits < 10 else { digits = -1; break }
            number = number * 10 + Int(c - 0x30)
            digits += 1
        }
        if digits > 0 && range.contains(number) { return number }
        report(position, option: option.name, line: option.line,
               "invalid value '\(ByteText.shown(value))': expected an integer from \(range.lowerBound) to \(range.upperBound)")
        return nil
    }

    /// A netifd interface is a section of /etc/config/network: its name
    /// is a UCI section name (ASCII letters, digits and '_').
    private mutating func networkName(_ position: Int, _ option: UCIOption) -> String? {
        guard let value = single(position, option) else { return nil }
        var valid = !value.isEmpty
        for c in value where !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F) {
            valid = false
        }
        if valid { return String(decoding: value, as: UTF8.self) }
        report(position, option: option.name, line: option.line,
               "invalid network name '" + ByteText.shown(value) + "': a netifd interface name has only letters, digits and '_'")
        return nil
    }

    /// A Linux interface name as the kernel's `dev_valid_name` accepts it,
    /// checked byte by byte: at most 15 bytes (IFNAMSIZ - 1), not `.` or
    /// `..`, no `/`, `:` or byte the kernel's `isspace` takes (space, `\t`
    /// to `\r`, and 0xA0). It must also be UTF-8: the daemon handles
    /// interface names as text.
    private mutating func deviceName(_ position: Int, _ option: UCIOption) -> String? {
        guard let value = single(position, option) else { return nil }
        let text = String(decoding: value, as: UTF8.self)
        var problem: String?
        if value.count > 15 {
            problem = "longer than 15 bytes (\(value.count))"
        } else if value == [0x2E] || value == [0x2E, 0x2E] {
            problem = "'.' and '..' are not interface names"
        } else {
            for c in value {
                if c == 0x2F { problem = "contains '/'"; break }
                if c == 0x3A { problem = "contains ':'"; break }
                if c == 0x20 || (c >= 0x09 && c <= 0x0D) { problem = "contains whitespace"; break }
                if c == 0xA0 { problem = "contains the byte 0xa0, which the kernel takes for whitespace"; break }
            }
        }
        if problem == nil && !text.utf8.elementsEqual(value) {
            problem = "not UTF-8 (fastpath handles interface names as text)"
        }
        guard let problem = problem else { return text }
        report(position, option: option.name, line: option.line,
               "invalid device name '\(ByteText.shown(value))': \(problem)")
        return nil
    }
}
