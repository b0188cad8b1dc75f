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

/// Bytes from a config file as a diagnostic writes them: on one line and
/// unambiguous.
enum ByteText {
    /// UTF-8 text as it is; control bytes as `\xNN`, a backslash as `\\`,
    /// and, when the bytes are not UTF-8, every byte above 0x7F as `\xNN`.
    static func shown(_ bytes: [UInt8]) -> String {
        let isUTF8 = String(decoding: bytes, as: UTF8.self).utf8.elementsEqual(bytes)
        var text: [UInt8] = []
        for c in bytes {
            if c == 0x5C {
                text += [0x5C, 0x5C]
            } else if c < 0x20 || c == 0x7F || (c >= 0x80 && !isUTF8) {
                text += [0x5C, 0x78] + hex(Int(c), digits: 2)
            } else {
                text.append(c)
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `value` in lowercase hexadecimal, at least `digits` digits.
    static func hex(_ value: Int, digits: Int) -> [UInt8] {
        var result: [UInt8] = []
        var rest = value
        repeat {
            let digit = UInt8(rest & 15)
            result.insert(digit < 10 ? 0x30 + digit : 0x57 + digit, at: 0)
            rest >>= 4
        } while rest > 0 || result.count < digits
        return result
    }
}
