/// How many packets were passed to the kernel for one reason (`FP_REASON_NAMES`).
public struct PassCount: Equatable {
    public var reason: String
    public var count: UInt64

    public init(reason: String, count: UInt64) {
        self.reason = reason
        self.count = count
    }
}

/// One interface's line in `fastpath status`.
public struct InterfaceStatus: Equatable {
    /// The device name; the config section's while it has no device (a
    /// netifd interface that is down).
    public var name: String
    /// 0 when the device does not exist.
    public var ifindex: UInt32
    /// The configured mode word (`auto`, `native`, …).
    public var requested: String
    public var mode: EffectiveMode
    /// Why `mode` is not what was requested; "" when it is.
    public var reason: String
    public var forwardedPackets: UInt64
    public var forwardedBytes: UInt64
    /// Pass counters in the order to print them (the JSON keeps this order).
    public var passed: [PassCount]

    public init(name: String, ifindex: UInt32, requested: String, mode: EffectiveMode, reason: String,
                forwardedPackets: UInt64 = 0, forwardedBytes: UInt64 = 0, passed: [PassCount] = []) {
        self.name = name
        self.ifindex = ifindex
        self.requested = requested
        self.mode = mode
        self.reason = reason
        self.forwardedPackets = forwardedPackets
        self.forwardedBytes = forwardedBytes
        self.passed = passed
    }

    /// The largest non-zero pass counters, largest first (ties keep their order).
    public func topPassed(_ limit: Int) -> [PassCount] {
        var result: [PassCount] = []
        for entry in passed where entry.count > 0 {
            var at = result.count
            while at > 0 && result[at - 1].count < entry.count { at -= 1 }
            result.insert(entry, at: at)
        }
        return Array(result.prefix(limit))
    }
}

/// The model behind `fastpath status` and `status --json`.
public struct StatusReport: Equatable {
    public var interfaces: [InterfaceStatus]
    /// The kernel and the optional capabilities it left off.
    public var capabilities: CapabilityReport

    public init(interfaces: [InterfaceStatus], capabilities: CapabilityReport) {
        self.interfaces = interfaces
        self.capabilities = capabilities
    }

    /// Sums over all interfaces (wrapping rather than trapping on overflow).
    public var totalForwardedPackets: UInt64 {
        var sum: UInt64 = 0
        for interface in interfaces { sum = sum &+ interface.forwardedPackets }
        return sum
    }

    public var totalForwardedBytes: UInt64 {
        var sum: UInt64 = 0
        for interface in interfaces { sum = sum &+ interface.forwardedBytes }
        return sum
    }

    /// `{"interfaces":[{"name":…,"ifindex":…,"requested":…,"mode":…,"reason":…,
    /// "forwarded_packets":…,"forwarded_bytes":…,"passed":{"REASON":count,…}}],
    /// "totals":{"forwarded_packets":…,"forwarded_bytes":…},
    /// "kernel":{"release":…,"degraded":[{"capability":…,"reason":…,"effect":…}]}}`,
    /// no whitespace.
    public func json() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("interfaces")
        w.beginArray()
        for interface in interfaces {
            w.beginObject()
            w.key("name"); w.string(interface.name)
            w.key("ifindex"); w.number(interface.ifindex)
            w.key("requested"); w.string(interface.requested)
            w.key("mode"); w.string(interface.mode.rawValue)
            w.key("reason"); w.string(interface.reason)
            w.key("forwarded_packets"); w.number(interface.forwardedPackets)
            w.key("forwarded_bytes"); w.number(interface.forwardedBytes)
            w.key("passed")
            w.beginObject()
            for entry in interface.passed {
                w.key(entry.reason); w.number(entry.count)
            }
            w.endObject()
            w.endObject()
        }
        w.endArray()
        w.key("totals")
        w.beginObject()
        w.key("forwarded_packets"); w.number(totalForwardedPackets)
        w.key("forwarded_bytes"); w.number(totalForwardedBytes)
        w.endObject()
        w.key("kernel")
        w.beginObject()
        w.key("release"); w.string(capabilities.kernelRelease)
        w.key("degraded")
        w.beginArray()
        for degraded in capabilities.degraded {
            w.beginObject()
            w.key("capability"); w.string(degraded.capability.rawValue)
            w.key("reason"); w.string(degraded.why)
            w.key("effect"); w.string(degraded.capability.effectWhenOff)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        w.endObject()
        return w.text
    }

    /// How many pass reasons the table shows per interface.
    public static let tableTopReasons = 3

    /// An aligned table for people, numbers right-aligned, with a totals
    /// line, then the kernel and each capability it left off; every line
    /// ends in "\n" and has no trailing spaces.
    public func table() -> String {
        let header = ["INTERFACE", "IFINDEX", "REQUESTED", "MODE", "FWD PKTS", "FWD BYTES", "TOP PASS REASONS", "REASON"]
        let rightAligned = [false, true, false, false, true, true, false, false]
        var rows: [[String]] = [header]
        for interface in interfaces {
            var top = ""
            for entry in interface.topPassed(StatusReport.tableTopReasons) {
                if !top.isEmpty { top += " " }
                top += "\(entry.reason)=\(entry.count)"
            }
            rows.append([
                interface.name, interface.ifindex == 0 ? "-" : "\(interface.ifindex)",
                interface.requested, interface.mode.rawValue,
                "\(interface.forwardedPackets)", "\(interface.forwardedBytes)",
                top.isEmpty ? "-" : top, interface.reason,
            ])
        }
        rows.append(["total", "", "", "", "\(totalForwardedPackets)", "\(totalForwardedBytes)", "", ""])

        var widths = [Int](repeating: 0, count: header.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], width(cell)) }
        }
        var out = ""
        for row in rows {
            var line = ""
            for (column, cell) in row.enumerated() {
                if column > 0 { line += "  " }
                let padding = String(repeating: " ", count: widths[column] - width(cell))
                line += rightAligned[column] ? padding + cell : cell + padding
            }
            while line.utf8.last == 0x20 { line.removeLast() }
            out += line + "\n"
        }
        out += "kernel \(capabilities.kernelRelease): "
        out += capabilities.degraded.isEmpty ? "every optional capability in use\n" : "degraded\n"
        for degraded in capabilities.degraded { out += "  \(degraded.summary)\n" }
        return out
    }

    /// Columns a cell takes: one per Unicode scalar (names are ASCII in practice).
    private func width(_ cell: String) -> Int {
        cell.unicodeScalars.count
    }
}
