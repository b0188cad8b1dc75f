import FastPathKernel

/// The command line. For now: --version and --help; subcommands come later.
enum FastPathCommand {
    static let version = "0.1.0"

    static let usage = """
        usage: fastpath [--version | --help]
          --version   print the version and exit
          --help      print this help and exit
        """

    /// Exit code: 0 ok, 2 usage error.
    static func run(_ arguments: [String]) -> Int32 {
        let options = Array(arguments.dropFirst())
        if options == ["--version"] {
            Console.line("fastpath \(version)")
            return 0
        }
        if options == ["--help"] || options == ["-h"] {
            Console.line(usage)
            return 0
        }
        Console.error(usage)
        return 2
    }
}
