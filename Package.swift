// swift-tools-version:6.0
// fastpath: XDP/TC router fast path with a Swift manager.
// The same Sources/ also build in Embedded Swift mode through the top-level
// Makefile (`make`); keep them free of Foundation, existentials and untyped throws.
// The Makefile reads the module graph from the sources' `import` lines
// (mk/router.mk), so the targets' dependencies below are the one list.
import PackageDescription

let package = Package(
    name: "fastpath",
    products: [
        .executable(name: "fastpath", targets: ["fastpath"]),
        .library(name: "FastPathKernel", targets: ["FastPathKernel"]),
    ],
    targets: [
        // Macros, opts structs, setns, errno, stdout/stderr, and bpf/fastpath.h.
        .target(name: "CFastPathShim", dependencies: ["CLibBPF"]),
        .systemLibrary(name: "CLibBPF", pkgConfig: "libbpf",
                       providers: [.apt(["libbpf-dev"])]),
        .systemLibrary(name: "CNetlink", pkgConfig: "libnl-3.0",
                       providers: [.apt(["libnl-3-dev", "libnl-route-3-dev", "libnl-genl-3-dev", "libnl-nf-3-dev"])]),
        // Owners of kernel resources; the only Swift code touching C pointers.
        .target(name: "FastPathKernel", dependencies: ["FastPathCore", "CFastPathShim", "CLibBPF", "CNetlink"]),
        // The poll loop, the event sources and the applier.
        .target(name: "FastPathDaemon", dependencies: ["FastPathCore", "FastPathKernel"]),
        .executableTarget(name: "fastpath", dependencies: ["FastPathDaemon", "FastPathCore", "FastPathKernel"]),
        .testTarget(name: "FastPathKernelTests", dependencies: ["FastPathKernel", "FastPathCore", "CFastPathShim", "LabSupport"]),
        // Real BPF in the real kernel: test runs on crafted frames, fuzzing, the namespace lab.
        .testTarget(name: "DataPathTests", dependencies: ["FastPathKernel", "CFastPathShim", "LabSupport"],
                    exclude: ["../lab"], swiftSettings: [.swiftLanguageMode(.v5)]),
        // The namespace lab (Tests/lab/lab.sh), a shell runner, a UDP probe, BPF test runs and
        // network namespaces, for the test targets; none of it is in the router binary.
        .target(name: "LabSupport", dependencies: ["FastPathKernel", "CTestSupport"], path: "Tests/LabSupport",
                swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(name: "CTestSupport", dependencies: ["CLibBPF"], path: "Tests/CTestSupport"),
        // The real embedded binary (build/x86_64/fastpath) managing the lab's router, end to end.
        .testTarget(name: "ManagerTests", dependencies: ["LabSupport", "FastPathCore", "FastPathKernel"], swiftSettings: [.swiftLanguageMode(.v5)]),
        // The daemon's parts that need no running daemon; the daemon itself is in ManagerTests.
        .testTarget(name: "FastPathDaemonTests", dependencies: ["FastPathDaemon", "FastPathCore", "LabSupport"]),
        .target(name: "FastPathCore"),
        .testTarget(name: "FastPathCoreTests", dependencies: ["FastPathCore"]),
    ]
)
