import XCTest
@testable import FastPathCore

final class CommandLineArgumentsTests: XCTestCase {
    func parse(_ words: String) throws -> CommandLineArguments {
        do {
            return try CommandLineArguments.parse(words.split(separator: " ").map(String.init))
        } catch {
            throw error as CommandLineArguments.UsageError
        }
    }

    func usageError(_ words: String) -> String? {
        do {
            _ = try CommandLineArguments.parse(words.split(separator: " ").map(String.init))
            return nil
        } catch {
            return error.message
        }
    }

    func testCommandsAndSharedOptionsInAnyOrder() throws {
        let daemon = try parse("-c /tmp/f daemon --foreground --pin-dir /sys/fs/bpf/x --run-dir /run/x --bpf-dir build/bpf")
        XCTAssertEqual(daemon.command, .daemon)
        XCTAssertTrue(daemon.foreground)
        XCTAssertEqual(daemon.config, "/tmp/f")
        XCTAssertEqual(daemon.pinDirectory, "/sys/fs/bpf/x")
        XCTAssertEqual(daemon.runDirectory, "/run/x")
        XCTAssertEqual(daemon.bpfDirectory, "build/bpf")
        let status = try parse("status --json --config /etc/x")
        XCTAssertEqual(status.command, .status)
        XCTAssertTrue(status.json)
        XCTAssertEqual(status.config, "/etc/x")
        XCTAssertEqual(try parse("check").command, .check)
        XCTAssertEqual(try parse("reload").command, .reload)
        XCTAssertEqual(try parse("detach").command, .detach)
        XCTAssertEqual(try parse("--version").command, .version)
        XCTAssertEqual(try parse("--help").command, .help)
        XCTAssertEqual(try parse("status --help").command, .help)
    }

    func testUsageErrorsSayWhatWasWrong() {
        XCTAssertEqual(usageError(""), "no command given")
        XCTAssertEqual(usageError("start"), "unknown command 'start' (commands: daemon, status, check, reload, detach)")
        XCTAssertEqual(usageError("status --verbose"), "unknown option '--verbose'")
        XCTAssertEqual(usageError("check --json"), "--json goes with 'status'")
        XCTAssertEqual(usageError("status --foreground"), "--foreground goes with 'daemon'")
        XCTAssertEqual(usageError("check -c"), "option -c needs a value")
        XCTAssertEqual(usageError("check status"), "unexpected argument 'status'")
    }
}
