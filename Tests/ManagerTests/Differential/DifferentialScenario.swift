import Foundation
import LabSupport

/// One scenario of the differential tests: how to set the lab up, the
/// daemon's config, what the receivers record and the traffic to send. The
/// harness runs it twice, in a fresh lab each time: the kernel alone, then
/// with the fastpath daemon attached, and compares what the hosts received.
struct DifferentialScenario {
    var name: String
    /// The daemon's UCI config (used only in the fastpath run).
    var config = DifferentialScenario.conntrackConfig()
    /// The mode `status` must show on lan0 and wan0 before the traffic starts.
    var mode = "xdp-native"
    /// Adds h3 behind the router's wan1 (`lab.sh h3`).
    var secondWAN = false
    /// The recorders' filter (`recorder.py` arguments), the same on every host.
    var recorderFilter: [String] = []
    /// nftables ruleset, ip rules, routes, sysctls: the same in both runs.
    var setup: (DifferentialContext) throws -> Void = { _ in }
    /// What the kernel run must show for the scenario to mean anything
    /// (e.g. both WANs used): nil when it does, else why not.
    var oracleCheck: (DifferentialRecording) -> String? = { _ in nil }
    /// The traffic. Unless `attachesItself`, the daemon is running and in
    /// `mode` before this starts (fastpath run).
    var traffic: (DifferentialContext) throws -> Void
    /// The traffic calls `context.attachFastPath()` itself (a flow that
    /// must exist before the daemon starts).
    var attachesItself = false
    /// The fast path must carry some of the traffic (its forwarded counter
    /// rises): a scenario it leaves entirely to the kernel would compare the
    /// kernel with itself and prove nothing.
    var expectsOffload = true

    /// Policy conntrack (the default) with lan0 and the WANs (wan '1').
    static func conntrackConfig(wans: [String] = ["wan0"]) -> String {
        var text = """
            config globals 'globals'
            \toption mode 'native'
            \toption policy 'conntrack'
            \toption valve_timeout '2'

            config interface 'lan'
            \toption device 'lan0'

            """
        for wan in wans {
            text += "\nconfig interface '\(wan)'\n\toption device '\(wan)'\n\toption wan '1'\n"
        }
        return text
    }

    /// The fw4-like ruleset of the lab (masquerade on wan0, wan:8080 → h1:80).
    static let fw4Ruleset = repositoryRoot + "/Tests/lab/fw4-like.nft"
}
