/// Builds compact JSON text (no whitespace) piece by piece; commas between
/// members and elements are inserted automatically.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Per open object/array: whether it already has a member.
    private var hasMember: [Bool] = []
    /// A key was written and its value has not been.
    private var pendingKey = false

    public init() {}

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func beginObject() { value(); bytes.append(0x7B); hasMember.append(false) }
    public mutating func endObject() { hasMember.removeLast(); bytes.append(0x7D) }
    public mutating func beginArray() { value(); bytes.append(0x5B); hasMember.append(false) }
    public mutating func endArray() { hasMember.removeLast(); bytes.append(0x5D) }

    /// An object member's name; the value written next belongs to it.
    public mutating func key(_ name: String) {
        separate()
        JSONWriter.appendQuoted(name, to: &bytes)
        bytes.append(0x3A)
        pendingKey = true
    }

    public mutating func string(_ value: String) {
        self.value()
        JSONWriter.appendQuoted(value, to: &bytes)
    }

    public mutating func number(_ value: UInt64) {
        self.value()
        bytes += Array("\(value)".utf8)
    }

    public mutating func number(_ value: UInt32) { number(UInt64(value)) }

    public mutating func bool(_ value: Bool) {
        self.value()
        bytes += Array((value ? "true" : "false").utf8)
    }

    /// `value` as a JSON string literal: `"`, `\` and control characters
    /// (as `\u00XX`) escaped, everything else as UTF-8.
    public static func quoted(_ value: String) -> String {
        var out: [UInt8] = []
        appendQuoted(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Private

    /// Before a value: a comma if it is not the first in an array.
    private mutating func value() {
        if pendingKey {
            pendingKey = false
            return
        }
        separate()
    }

    private mutating func separate() {
        guard let last = hasMember.indices.last else { return }
        if hasMember[last] { bytes.append(0x2C) }
        hasMember[last] = true
    }

    private static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(0x22)
        for c in value.utf8 {
            switch c {
            case 0x22, 0x5C:
                out.append(0x5C)
                out.append(c)
            case 0x00..<0x20:
                out += [0x5C, 0x75, 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0xF)]]
            default:
                out.append(c)
            }
        }
        out.append(0x22)
    }
}
