import CFastPathShim

/// A network device by name and index, looked up in the calling thread's
/// network namespace.
public struct NetworkInterface: Equatable {
    public let name: String
    public let index: UInt32

    /// The interface called `name` (`if_nametoindex`).
    public init(name: String) throws(FastPathError) {
        let index = name.withCString { fp_if_nametoindex($0) }
        if index == 0 {
            let value = fp_errno()
            throw FastPathError("no such network interface", code: .errno(value == 0 ? ENODEV : value), subject: name)
        }
        self.name = name
        self.index = index
    }

    /// The interface with index `index` (`if_indextoname`).
    public init(index: UInt32) throws(FastPathError) {
        var rc: Int32 = 0
        let name = withCharBuffer(count: 32) { rc = fp_if_indextoname(index, $0) }
        try check(rc, "no such network interface", subject: "ifindex \(index)")
        self.name = name
        self.index = index
    }

    /// The device's hardware address (`SIOCGIFHWADDR`).
    public func macAddress() throws(FastPathError) -> MACAddress {
        var mac = MACAddress.zero
        let rc = name.withCString { cname in
            withUnsafeMutableBytes(of: &mac.bytes) { fp_if_hwaddr(cname, $0.bindMemory(to: UInt8.self).baseAddress!) }
        }
        try check(rc, "read hardware address", subject: name)
        return mac
    }
}
