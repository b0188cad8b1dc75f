/// A 48-bit Ethernet address, stored as `fp_iface.mac` stores it.
public struct MACAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(_ bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)) {
        self.bytes = bytes
    }

    /// From exactly six bytes; nil otherwise.
    public init?(_ array: [UInt8]) {
        guard array.count == 6 else { return nil }
        bytes = (array[0], array[1], array[2], array[3], array[4], array[5])
    }

    /// Parses "aa:bb:cc:dd:ee:ff" (as in /sys/class/net/NAME/address).
    public init?(parsing text: String) {
        var values: [UInt8] = []
        for part in text.split(separator: ":") {
            guard part.count == 2, let value = UInt8(part, radix: 16) else { return nil }
            values.append(value)
        }
        self.init(values)
    }

    public static let zero = MACAddress((0, 0, 0, 0, 0, 0))

    public var array: [UInt8] { [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5] }

    public static func == (a: MACAddress, b: MACAddress) -> Bool { a.array == b.array }
    public func hash(into hasher: inout Hasher) { hasher.combine(array) }

    /// "aa:bb:cc:dd:ee:ff"
    public var description: String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        var text = ""
        for (i, byte) in array.enumerated() {
            if i > 0 { text.append(":") }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return text
    }
}
