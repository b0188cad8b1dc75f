import CFastPathShim
import XCTest

/// The ABI structs in bpf/fastpath.h, as Swift imports them, have the sizes
/// the BPF side asserts with _Static_assert.
final class LayoutTests: XCTestCase {
    func testABIStructSizes() {
        // 3 counters + one per pass reason (FP_REASON_COUNT, 23 -> 208 bytes at first)
        XCTAssertEqual(MemoryLayout<fp_stats>.size, 8 * (3 + Int(FP_REASON_COUNT)))
        XCTAssertEqual(MemoryLayout<fp_iface>.size, 12)
        XCTAssertEqual(MemoryLayout<fp_config>.size, 8)
        XCTAssertEqual(MemoryLayout<fp_devmap_val>.size, 8)
        XCTAssertEqual(MemoryLayout<fp_vlan_key>.size, 8)
        XCTAssertEqual(MemoryLayout<fp_vlan_val>.size, 4)
        XCTAssertEqual(MemoryLayout<fp_meta>.size, 24)
    }
}
