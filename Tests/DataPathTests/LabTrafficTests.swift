import XCTest
import CFastPathShim
import FastPathCore
import FastPathKernel

/// Real traffic h1 → r → h2 through the programs attached on the router by
/// the test itself (the manager has its own end-to-end tests): ping and UDP
/// in both families, delivery counted at the receiver, and the router's
/// counters proving the fast path carried it.
final class LabTrafficTests: XCTestCase {
    var lab: NamespaceLab!
    var dataPath: DataPath!
    var lanIndex: UInt32 = 0, wanIndex: UInt32 = 0
    let lanSlot: UInt32 = 1, wanSlot: UInt32 = 2

    override func setUpWithError() throws {
        lab = try NamespaceLab()
        lanIndex = try lab.ifindex(lab.router, "lan0")
        wanIndex = try lab.ifindex(lab.router, "wan0")
        let lanMAC = try lab.mac(lab.router, "lan0"), wanMAC = try lab.mac(lab.router, "wan0")
        dataPath = try DataPath()
        try lab.inside(lab.router) { [self] in
            try dataPath.addInterface(ifindex: lanIndex, mac: lanMAC, slot: lanSlot)
            try dataPath.addInterface(ifindex: wanIndex, mac: wanMAC, slot: wanSlot)
        }
    }

    override func tearDown() {
        lab?.destroy() // removes the devices, and with them every attachment
    }

    enum Attachment { case xdp(XDPMode), tc, xdpWithHandoff }

    func attach(_ attachment: Attachment) throws {
        try lab.inside(lab.router) { [self] in
            for ifindex in [lanIndex, wanIndex] {
                switch attachment {
                case .xdp(let mode):
                    try dataPath.addRedirectTarget(ifindex: ifindex)
                    _ = try XDPAttachment.attach(dataPath.xdp, ifindex: ifindex, mode: mode)
                    XCTAssertEqual(try XDPAttachment.query(ifindex: ifindex).mode,
                                   mode == .native ? .native : .generic)
                case .tc:
                    _ = try TCAttachment.attach(dataPath.tc, ifindex: ifindex)
                    XCTAssertEqual(try TCAttachment.query(ifindex: ifindex), dataPath.tc.id)
                case .xdpWithHandoff:
                    // No redirect targets: every forwarded frame goes XDP → TC.
                    _ = try TCAttachment.attach(dataPath.tc, ifindex: ifindex)
                    _ = try XDPAttachment.attach(dataPath.xdp, ifindex: ifindex, mode: .native)
                }
            }
        }
    }

    /// Ping and UDP both ways of both families; returns the router's counters.
    func sendTraffic() throws -> (lan: InterfaceCounters, wan: InterfaceCounters) {
        let before = (try dataPath.counters(slot: lanSlot), try dataPath.counters(slot: wanSlot))
        for target in [NamespaceLab.h2IPv4, NamespaceLab.h2IPv6] {
            let output = try lab.exec(lab.h1, "ping", "-c", "5", "-i", "0.05", "-W", "1", target)
            XCTAssertTrue(output.contains("5 received"), "ping \(target): \(output)")
        }
        for (family, address) in [(UDPProbe.Family.ipv4, NamespaceLab.h2IPv4), (.ipv6, NamespaceLab.h2IPv6)] {
            let delivered = try UDPProbe.deliver(lab: lab, family: family, from: lab.h1, to: lab.h2, toAddress: address)
            XCTAssertEqual(delivered, 200, "UDP \(family) h1 → h2 delivered")
        }
        let after = (try dataPath.counters(slot: lanSlot), try dataPath.counters(slot: wanSlot))
        var lan = after.0, wan = after.1
        lan.forwardedPackets -= before.0.forwardedPackets
        wan.forwardedPackets -= before.1.forwardedPackets
        lan.passed = zip(after.0.passed, before.0.passed).map { $0 - $1 }
        return (lan, wan)
    }

    /// 10 echo requests + 400 datagrams went h1 → h2 and 10 echo replies came back.
    func assertFastPathCarried(_ counters: (lan: InterfaceCounters, wan: InterfaceCounters),
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertGreaterThanOrEqual(counters.lan.forwardedPackets, 410, "lan0 forwarded", file: file, line: line)
        XCTAssertGreaterThanOrEqual(counters.wan.forwardedPackets, 10, "wan0 forwarded (replies)", file: file, line: line)
    }

    func testNativeXDPForwardsBothFamilies() throws {
        try attach(.xdp(.native))
        assertFastPathCarried(try sendTraffic())
    }

    func testGenericXDPForwardsBothFamilies() throws {
        try attach(.xdp(.generic))
        assertFastPathCarried(try sendTraffic())
    }

    func testTCForwardsBothFamilies() throws {
        try attach(.tc)
        assertFastPathCarried(try sendTraffic())
    }

    func testXDPHandsOffToTCWhenEgressTakesNoXDPFrames() throws {
        try attach(.xdpWithHandoff)
        let counters = try sendTraffic()
        assertFastPathCarried(counters)
        XCTAssertGreaterThanOrEqual(counters.lan.passed(InterfaceCounters.reasonNames[Int(FP_PASS_TC_HANDOFF)]), 410,
                                    "XDP handed the frames to TC")
    }

    func testWithoutNeighbourTCResolvesAndDelivers() throws {
        try attach(.tc)
        try lab.exec(lab.router, "ip", "neigh", "del", NamespaceLab.h2IPv4, "dev", "wan0")
        try lab.exec(lab.router, "ip", "-6", "neigh", "del", NamespaceLab.h2IPv6, "dev", "wan0")
        assertFastPathCarried(try sendTraffic())
    }
}
