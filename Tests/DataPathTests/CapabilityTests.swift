import Foundation
import XCTest
import CFastPathShim
import FastPathCore
@testable import FastPathKernel

/// The kernel decides which optional capabilities the data path uses: the
/// probes must agree with what the verifier does to the real object, and a
/// refusal the probes missed must cost that capability only.
final class CapabilityTests: XCTestCase {
    override func setUp() {
        LibBPFLog.setWarningsVisible(false)
    }

    /// Loads the real object with exactly `capabilities` on.
    private func loadObject(with capabilities: [KernelCapability]) throws -> BPFObject {
        var bits: UInt32 = 0
        for capability in capabilities { bits |= capability.featureBit ?? 0 }
        return try BPFObject(path: DataPath.objectPath,
                             readOnlyData: [FP_FEATURES_SECTION: withUnsafeBytes(of: bits) { Array($0) }])
    }

    func testThisKernelHasTheEssentials() {
        XCTAssertNil(KernelProbe.missingEssential())
    }

    /// Where it is known what the kernel lacks (the kernel matrix sets
    /// FASTPATH_EXPECT_OFF for Debian's 6.1 and 6.12: the capability words
    /// that must be off, space-separated), exactly those are off.
    func testTheKernelLeavesOffWhatTheMatrixExpects() throws {
        guard let words = ProcessInfo.processInfo.environment["FASTPATH_EXPECT_OFF"] else {
            throw XCTSkip("set FASTPATH_EXPECT_OFF to the capabilities this kernel lacks (words, may be empty)")
        }
        let dataPath = try DataPath()
        XCTAssertEqual(dataPath.capabilities.degraded.map { $0.capability.rawValue }.joined(separator: " "),
                       words.split(separator: " ").joined(separator: " "), "kernel \(KernelProbe.release)")
    }

    func testEachProbeAgreesWithTheVerifierOnTheObject() throws {
        for capability in KernelCapability.allCases where !capability.helperUses.isEmpty {
            let refusal = KernelProbe.refusal(of: capability)
            do {
                _ = try loadObject(with: [capability])
                XCTAssertNil(refusal, "\(capability): the probe said '\(refusal ?? "")' but the object loads with it")
            } catch let error as FastPathError {
                guard case .refusedHelper(let helper) = error.code else {
                    return XCTFail("\(capability): \(error.description)")
                }
                XCTAssertNotNil(refusal, "\(capability): the probe allowed it but the verifier refuses \(helper)")
                XCTAssertTrue(capability.helperUses.contains { $0.name == helper }, "\(helper) belongs to \(capability)")
            }
        }
        XCTAssertNoThrow(try loadObject(with: []), "with every optional capability off the object loads anywhere")
    }

    /// A probe that says yes to everything: the object's own load must find
    /// what the kernel refuses, switch that off, and load.
    func testARefusalTheProbesMissedIsFoundByTheObjectLoad() throws {
        let refused = KernelCapability.allCases.filter { !$0.helperUses.isEmpty && KernelProbe.refusal(of: $0) != nil }
        if refused.isEmpty {
            throw XCTSkip("kernel \(KernelProbe.release) allows every optional helper: nothing to refuse")
        }
        let (object, report) = try CapabilityLoader.load(path: DataPath.objectPath, pinDirectory: nil, maxEntries: [:],
                                                         turnedOff: [], refusal: { _ in nil })
        XCTAssertEqual(report.degraded.map { $0.capability }, refused)
        for degraded in report.degraded {
            XCTAssertTrue(degraded.why.hasPrefix("kernel refuses bpf_"), degraded.why)
        }
        XCTAssertFalse(object.programNames.isEmpty)
    }

    func testTheReportNamesTheKernelAndWhatIsOff() throws {
        let dataPath = try DataPath(objectPath: DataPath.objectPath, turnedOff: [.redirectNeighbour])
        XCTAssertEqual(dataPath.capabilities.kernelRelease, KernelProbe.release)
        XCTAssertFalse(dataPath.capabilities.kernelRelease.isEmpty)
        for capability in KernelCapability.allCases {
            let off = dataPath.capabilities.degraded.first { $0.capability == capability }
            if capability == .redirectNeighbour {
                XCTAssertEqual(off?.why, CapabilityReport.turnedOffByConfig)
            } else if let why = KernelProbe.refusal(of: capability) {
                XCTAssertEqual(off?.why, why)
            } else {
                XCTAssertNil(off, "\(capability) is on where the kernel has it")
            }
        }
    }
}
