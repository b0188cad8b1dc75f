/// The devices behind the netifd interfaces the config names, as the init
/// script hands them over: one "NETWORK DEVICE" line each (netifd's
/// `l3_device`); an interface without a device has no line.
public enum NetworkDevices {
    /// netifd interface → device. Lines that are not two words are skipped:
    /// the file is the init script's, not the user's.
    public static func parse(_ text: String) -> [String: String] {
        var devices: [String: String] = [:]
        for line in Array(text.utf8).split(separator: 0x0A) {
            let words = line.split(separator: 0x20)
            guard words.count == 2 else { continue }
            devices[String(decoding: words[0], as: UTF8.self)] = String(decoding: words[1], as: UTF8.self)
        }
        return devices
    }
}
