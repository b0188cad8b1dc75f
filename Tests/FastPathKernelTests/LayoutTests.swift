import CFastPathShim
import FastPathCore
@testable import FastPathKernel
import LabSupport
import XCTest

/// The ABI structs in bpf/fastpath.h, as Swift imports them, have the sizes
/// the BPF side asserts with _Static_assert, and the pure core's types
/// encode as the header's constants.
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

    /// Each interface flag is its FP_IFACE_* bit, any combination survives
    /// a trip through `fp_iface.flags`, and bits the header lacks are dropped.
    func testInterfaceFlagsEncodeAsTheHeaderBits() {
        let expected: [(InterfaceFlags, UInt32)] = [
            (.policyRouting, FP_IFACE_POLICY_ROUTING), (.policyConntrack, FP_IFACE_POLICY_CONNTRACK),
            (.wan, FP_IFACE_WAN), (.reversePathStrict, FP_IFACE_RP_STRICT), (.reversePathLoose, FP_IFACE_RP_LOOSE),
        ]
        for (flag, bit) in expected {
            XCTAssertEqual(UInt32(flag.header), bit, "flag \(flag.rawValue)")
        }
        assertRoundTrips(expected.map { $0.0 }, encode: { $0.header }, decode: { InterfaceFlags(header: $0) })
        XCTAssertEqual(InterfaceFlags(header: .max), InterfaceFlags(expected.map { $0.0 }))
    }

    /// Each XDP feature is its NETDEV_XDP_ACT_* bit (the shim's copies are
    /// checked against <linux/netdev.h> where the build has it).
    func testXDPFeaturesDecodeFromTheNetdevBits() {
        let expected: [(XDPFeatureSet, UInt64)] = [
            (.basic, FP_NETDEV_XDP_ACT_BASIC), (.redirect, FP_NETDEV_XDP_ACT_REDIRECT),
            (.ndoXmit, FP_NETDEV_XDP_ACT_NDO_XMIT), (.xskZerocopy, FP_NETDEV_XDP_ACT_XSK_ZEROCOPY),
            (.hwOffload, FP_NETDEV_XDP_ACT_HW_OFFLOAD), (.rxSG, FP_NETDEV_XDP_ACT_RX_SG),
            (.ndoXmitSG, FP_NETDEV_XDP_ACT_NDO_XMIT_SG),
        ]
        for (feature, bit) in expected {
            XCTAssertEqual(XDPFeatureSet(netdev: bit), feature, "\(feature.names)")
        }
        assertRoundTrips(expected.map { $0.0 }, encode: { $0.netdev }, decode: { XDPFeatureSet(netdev: $0) })
        XCTAssertEqual(XDPFeatureSet(netdev: .max), XDPFeatureSet(expected.map { $0.0 }))
    }

    /// Every subset of `members` encodes to one bit per member and decodes back.
    private func assertRoundTrips<Flags: OptionSet, Bits: FixedWidthInteger>(
        _ members: [Flags], encode: (Flags) -> Bits, decode: (Bits) -> Flags,
        file: StaticString = #filePath, line: UInt = #line
    ) where Flags.Element == Flags {
        for subset in 0..<(1 << members.count) {
            var flags: Flags = []
            for (index, member) in members.enumerated() where subset & (1 << index) != 0 {
                flags.insert(member)
            }
            XCTAssertEqual(encode(flags).nonzeroBitCount, subset.nonzeroBitCount, file: file, line: line)
            XCTAssertEqual(decode(encode(flags)), flags, file: file, line: line)
        }
    }

    /// DataPath's program and map names are the object's (`make bpf`), so
    /// `detach` removes the pin of every map the object has.
    func testDataPathNamesAreTheObjects() throws {
        let names = try BPFObject.names(inFile: repositoryRoot + "/build/bpf/fastpath.o")
        XCTAssertEqual(Set(names.maps), Set(DataPath.mapNames))
        XCTAssertEqual(names.maps.count, DataPath.mapNames.count)
        XCTAssertEqual(Set(names.programs), Set(DataPath.programNames))
    }

    func testEveryReasonHasADistinctName() {
        let names = InterfaceCounters.reasonNames
        XCTAssertEqual(names.count, Int(FP_REASON_COUNT))
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertEqual(names[Int(FP_PASS_VALVE)], "valve")
    }
}
