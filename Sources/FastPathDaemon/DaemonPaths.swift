/// Where the daemon and the CLI find their files (the shared options of
/// every subcommand).
public struct DaemonPaths: Equatable {
    /// The UCI config file (`-c/--config`).
    public var config = "/etc/config/fastpath"
    /// Where the BPF object `fastpath.o` is installed (`--bpf-dir`).
    public var bpfDirectory = "/usr/lib/fastpath"
    /// The bpffs directory holding the pinned maps (`--pin-dir`).
    public var pinDirectory = "/sys/fs/bpf/fastpath"
    /// The pid file and the applied state (`--run-dir`).
    public var runDirectory = "/var/run/fastpath"

    public init() {}

    public var objectPath: String { bpfDirectory + "/fastpath.o" }
    public var pidFile: String { runDirectory + "/fastpath.pid" }
    public var stateFile: String { runDirectory + "/state" }
    /// Interfaces whose clsact qdisc fastpath created (and so may remove).
    public var qdiscFile: String { runDirectory + "/qdiscs" }
    /// The devices behind netifd interfaces (`NetworkDevices`), written by the init script.
    public var networkDevicesFile: String { runDirectory + "/network-devices" }
}
