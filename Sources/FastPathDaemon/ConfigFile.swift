import FastPathCore
import FastPathKernel

/// Reads and validates the UCI file; never touches the kernel.
public enum ConfigFile {
    public enum Outcome {
        case valid(FastPathConfig)
        /// One line each, "file:line: ..." ready to print.
        case invalid([String])
    }

    public static func load(_ path: String) -> Outcome {
        let bytes: [UInt8]?
        do {
            bytes = try SmallFile.readBytes(path)
        } catch {
            return .invalid([error.description])
        }
        guard let bytes else { return .invalid(["\(path): no such file"]) }
        switch FastPathConfig.parse(bytes, file: path) {
        case .valid(let config): return .valid(config)
        case .invalid(let diagnostics): return .invalid(diagnostics.map { $0.description })
        }
    }
}
