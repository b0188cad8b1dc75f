import FastPathKernel

// The entry point: C `main(argc, argv)` under the name `fastpath_main`
// (Embedded mode has no CommandLine). SwiftPM links executables with
// `--defsym main=<module>_main`; the Makefile's embedded link does the same,
// so one spelling serves both builds. Arguments become [String] here and
// nothing else in this target touches a pointer.
// Keep this target at two or more files and none named main.swift: SwiftPM
// compiles a single-file executable as a script, whose generated entry point
// then collides with this one ("multiple definitions of symbol fastpath_main").
@_cdecl("fastpath_main")
func cMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var arguments: [String] = []
    for i in 0..<Int(argc) {
        if let arg = argv[i] { arguments.append(String(cString: arg)) }
    }
    return FastPathCommand.run(arguments)
}
