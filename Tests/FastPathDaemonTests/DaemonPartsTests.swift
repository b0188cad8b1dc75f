import Foundation
import XCTest
import FastPathCore
import LabSupport
@testable import FastPathDaemon

/// The daemon's parts that need no running daemon: the config file, the
/// qdisc registry, what the kernel survey reads. The daemon as a whole is
/// tested end to end, as the real binary, in ManagerTests.
final class DaemonPartsTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "fpdaemon-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testConfigFileNamesTheFileAndLineOfAProblem() throws {
        let path = directory + "/fastpath"
        try "config globals 'globals'\n\toption mode 'warp'\n".write(toFile: path, atomically: true, encoding: .utf8)
        guard case .invalid(let lines) = ConfigFile.load(path) else { return XCTFail("a bad mode is refused") }
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].hasPrefix("\(path):2: "), lines[0])
        guard case .invalid(let missing) = ConfigFile.load(directory + "/absent") else { return XCTFail("no file") }
        XCTAssertEqual(missing, ["\(directory!)/absent: no such file"])
        try "config globals 'globals'\n\toption mode 'tc'\n".write(toFile: path, atomically: true, encoding: .utf8)
        guard case .valid(let config) = ConfigFile.load(path) else { return XCTFail("a good file loads") }
        XCTAssertEqual(config.globals.mode, .tc)
    }

    /// The file reaches the parser as its bytes: a byte that is not UTF-8
    /// is named, not replaced, and the lines are the file's.
    func testConfigFileIsReadAsBytes() throws {
        let path = directory + "/fastpath"
        let text = Array("config interface 'lan'\r\n\toption device 'eth".utf8) + [0xFF] + Array("'\r\n".utf8)
        try Data(text).write(to: URL(fileURLWithPath: path))
        guard case .invalid(let lines) = ConfigFile.load(path) else { return XCTFail("the device name is refused") }
        XCTAssertEqual(lines, ["\(path):2: interface 'lan': option 'device': invalid device name 'eth\\xff': not UTF-8 (fastpath handles interface names as text)"])
    }

    /// The registry survives the process: `detach` removes exactly the
    /// qdiscs fastpath created.
    func testQdiscRegistryRemembersWhatFastpathCreated() throws {
        let registry = QdiscRegistry(path: directory + "/qdiscs")
        XCTAssertEqual(registry.load(), [])
        try registry.add(7)
        try registry.add(3)
        try registry.add(7)
        XCTAssertEqual(QdiscRegistry(path: registry.path).load(), [3, 7])
        try registry.remove(7)
        try registry.remove(9)
        XCTAssertEqual(registry.load(), [3])
        XCTAssertEqual(try String(contentsOfFile: registry.path, encoding: .utf8), "3\n")
    }

    /// The reverse-path filter in force is the larger of `all` and the
    /// device's own, read in the namespace the daemon runs in.
    func testReversePathFilterIsTheLargerOfAllAndTheDevices() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        func filter(all: Int, lan: Int) throws -> UInt8 {
            try lab.exec(lab.router, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=\(all)",
                         "net.ipv4.conf.lan0.rp_filter=\(lan)")
            return try lab.inside(lab.router) { KernelSurvey.reversePathFilter(of: "lan0") }
        }
        XCTAssertEqual(try filter(all: 0, lan: 0), 0)
        XCTAssertEqual(try filter(all: 0, lan: 1), 1)
        XCTAssertEqual(try filter(all: 2, lan: 1), 2)
        XCTAssertEqual(try filter(all: 1, lan: 0), 1)
        XCTAssertEqual(try lab.inside(lab.router) { KernelSurvey.reversePathFilter(of: "nosuchdev") }, 1,
                       "a device without its own sysctl: conf/all alone")
    }
}
