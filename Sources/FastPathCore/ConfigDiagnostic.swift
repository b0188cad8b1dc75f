/// One problem in a config file, precise enough to act on:
/// `/etc/config/fastpath:7: interface 'wan': option 'mode': invalid value 'fast' (allowed: auto, native, generic, tc, off)`.
///
/// Syntax errors from `UCIParser` use the same type (without section or
/// option), so it is also the error type of the parser's typed throws.
public struct ConfigDiagnostic: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    /// The section type, e.g. `interface`, when the problem is inside a section.
    public var sectionType: String?
    /// The section name, or `@type[N]` for an anonymous section.
    public var sectionName: String?
    public var option: String?
    public var message: String
    /// The accepted values, when there is a fixed set (or a range, e.g. `1..3600`).
    public var allowed: [String]?

    public init(file: String, line: Int, sectionType: String? = nil, sectionName: String? = nil,
                option: String? = nil, message: String, allowed: [String]? = nil) {
        self.file = file
        self.line = line
        self.sectionType = sectionType
        self.sectionName = sectionName
        self.option = option
        self.message = message
        self.allowed = allowed
    }

    /// `interface 'wan'`, or `@interface[1]` for an anonymous section.
    public var sectionLabel: String? {
        guard let type = sectionType else { return nil }
        guard let name = sectionName else { return type }
        // '@' never occurs in a valid UCI section name, so this is unambiguous.
        if name.hasPrefix("@") { return name }
        return "\(type) '\(name)'"
    }

    public var description: String {
        var text = "\(file):\(line): "
        if let label = sectionLabel { text += "\(label): " }
        if let option = option { text += "option '\(option)': " }
        text += message
        if let allowed = allowed, !allowed.isEmpty {
            text += " (allowed: \(allowed.joined(separator: ", ")))"
        }
        return text
    }
}
