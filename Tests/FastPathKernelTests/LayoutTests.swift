import CFastPathShim
import FastPathCore
@testable import FastPathKernel
import XCTest

/// The ABI structs in bpf/fastpath.h, as Swift imports them, have the sizes
/// the BPF side asserts with _Static_assert, and the pure core's copies of
/// ABI constants match the header.
final class LayoutTests: XCTestCase {
    func testABIStructSizes() {
        XCTAssertEqual(MemoryLayout<fp_stats>.size, 8 * (3 + Int(FP_REASON_COUNT)))
        XCTAssertEqual(MemoryLayout<fp_iface>.size, 12)
        XCTAssertEqual(MemoryLayout<fp_config>.size, 32)
        XCTAssertEqual(MemoryLayout<fp_recheck>.size, 32)
        XCTAssertEqual(MemoryLayout<fp_devmap_val>.size, 8)
        XCTAssertEqual(MemoryLayout<fp_vlan_key>.size, 8)
        XCTAssertEqual(MemoryLayout<fp_vlan_val>.size, 4)
        XCTAssertEqual(MemoryLayout<fp_meta>.size, 24)
        XCTAssertEqual(MemoryLayout<fp_addr>.size, 16)
        XCTAssertEqual(MemoryLayout<fp_flow_key>.size, 44)
        XCTAssertEqual(MemoryLayout<fp_flow>.size, 104)
    }

    /// Every optional capability has its own fp_features bit, and together
    /// they are every bit the programs know.
    func testCapabilitiesCoverTheFeatureBits() {
        var union: UInt32 = 0
        for capability in KernelCapability.allCases {
            guard let bit = capability.featureBit else {
                XCTAssertTrue(capability.helperUses.isEmpty, "\(capability) calls helpers but has no bit")
                continue
            }
            XCTAssertEqual(bit.nonzeroBitCount, 1, "\(capability)")
            XCTAssertEqual(union & bit, 0, "\(capability) shares a bit")
            union |= bit
        }
        XCTAssertEqual(union, FP_FEATURES_ALL)
        XCTAssertEqual(CapabilityLoader.featureBytes(CapabilityReport(kernelRelease: "")).count, 4)
    }

    func testCoreFlagsMirrorTheHeader() {
        XCTAssertEqual(InterfaceFlags.policyRouting, FP_IFACE_POLICY_ROUTING)
        XCTAssertEqual(InterfaceFlags.policyConntrack, FP_IFACE_POLICY_CONNTRACK)
        XCTAssertEqual(InterfaceFlags.wan, FP_IFACE_WAN)
        XCTAssertEqual(InterfaceFlags.reversePathStrict, FP_IFACE_RP_STRICT)
        XCTAssertEqual(InterfaceFlags.reversePathLoose, FP_IFACE_RP_LOOSE)
        XCTAssertEqual(ReconcilePlanner.maxSlot, UInt32(FP_MAX_IFACES) - 1)
    }

    func testEveryReasonHasADistinctName() {
        let names = InterfaceCounters.reasonNames
        XCTAssertEqual(names.count, Int(FP_REASON_COUNT))
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertEqual(names[Int(FP_PASS_VALVE)], "valve")
    }
}
