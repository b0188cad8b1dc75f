/// The parsed command line: `fastpath [OPTIONS] COMMAND [COMMAND OPTIONS]`.
/// Options may come before or after the command.
public struct CommandLineArguments: Equatable {
    public enum Command: String, Equatable {
        case daemon, status, check, reload, detach, version, help
    }

    public var command: Command
    public var config: String?
    public var bpfDirectory: String?
    public var pinDirectory: String?
    public var runDirectory: String?
    /// `daemon --foreground`
    public var foreground = false
    /// `status --json`
    public var json = false

    public init(command: Command) {
        self.command = command
    }

    /// A usage error: what was wrong, for one line on stderr (exit 2).
    public struct UsageError: Error, Equatable {
        public var message: String
    }

    public static let usage = """
        usage: fastpath [OPTIONS] COMMAND
        commands:
          daemon [--foreground]   run the manager (procd runs it in the foreground)
          status [--json]         show each interface's mode and the fast path's counters
          check                   validate the config and print "ok" (touches nothing)
          reload                  re-read the config in the running daemon (SIGHUP)
          detach                  stop the daemon and remove everything fastpath attached
        options:
          -c, --config PATH       UCI config (default /etc/config/fastpath)
          --bpf-dir DIR           where fastpath.o is (default /usr/lib/fastpath)
          --pin-dir DIR           bpffs directory of the pinned maps (default /sys/fs/bpf/fastpath)
          --run-dir DIR           pid file and state (default /var/run/fastpath)
          --version, --help
        """

    public static func parse(_ arguments: [String]) throws(UsageError) -> CommandLineArguments {
        var command: Command?
        var result = CommandLineArguments(command: .help)
        var index = 0
        func value(_ option: String) throws(UsageError) -> String {
            index += 1
            guard index < arguments.count, !arguments[index].isEmpty else {
                throw UsageError(message: "option \(option) needs a value")
            }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "-c", "--config": result.config = try value(argument)
            case "--bpf-dir": result.bpfDirectory = try value(argument)
            case "--pin-dir": result.pinDirectory = try value(argument)
            case "--run-dir": result.runDirectory = try value(argument)
            case "--foreground", "-f":
                guard command == .daemon else { throw UsageError(message: "\(argument) goes with 'daemon'") }
                result.foreground = true
            case "--json":
                guard command == .status else { throw UsageError(message: "--json goes with 'status'") }
                result.json = true
            case "--version": command = command ?? .version
            case "--help", "-h": command = .help
            default:
                if argument.hasPrefix("-") { throw UsageError(message: "unknown option '\(argument)'") }
                guard command == nil else { throw UsageError(message: "unexpected argument '\(argument)'") }
                guard let parsed = Command(rawValue: argument), parsed != .version, parsed != .help else {
                    throw UsageError(message: "unknown command '\(argument)' (commands: daemon, status, check, reload, detach)")
                }
                command = parsed
            }
            index += 1
        }
        guard let command else { throw UsageError(message: "no command given") }
        result.command = command
        return result
    }
}
