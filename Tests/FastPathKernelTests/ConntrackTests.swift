import CFastPathShim
import FastPathCore
@testable import FastPathKernel
import Foundation
import XCTest
import LabSupport

/// ConntrackMonitor and ConntrackControl against the real
/// kernel, in a three-namespace lab named from the pid (`fpct<pid>{c,r,s}<k>`):
///
///     client c0 10.201.0.2 fd01::2 ── r0 10.201.0.1 fd01::1 [router] r1 10.202.0.1 fd02::1 ── s0 10.202.0.2 fd02::2 server
///
/// The router forwards, with an nftables ruleset that uses conntrack
/// (forward: established/related or from r0; IPv4 masquerade out of r1), so
/// it has a conntrack table. The sockets under test are created inside the
/// router namespace; traffic comes from python3 in the client and server
/// namespaces. Runs as root.
final class ConntrackTests: XCTestCase {
    nonisolated(unsafe) private static var counter = 0
    private var router = ""
    private var client = ""
    private var server = ""
    private var scratch = ""
    private var background: [Process] = []
    /// The system python directly: a version-manager shim (pyenv) in PATH
    /// costs ~0.3 s per start.
    private let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
        ? "/usr/bin/python3" : "python3"

    private let routerLAN: [UInt8] = [10, 201, 0, 1]
    private let routerWAN: [UInt8] = [10, 202, 0, 1]
    private let clientV4: [UInt8] = [10, 201, 0, 2]
    private let serverV4: [UInt8] = [10, 202, 0, 2]
    private let clientV6: [UInt8] = [0xfd, 0x01] + [UInt8](repeating: 0, count: 13) + [2]
    private let serverV6: [UInt8] = [0xfd, 0x02] + [UInt8](repeating: 0, count: 13) + [2]

    override func setUpWithError() throws {
        ConntrackTests.counter += 1
        let suffix = "\(getpid())\(ConntrackTests.counter)"
        router = "fpct\(suffix)r"
        client = "fpct\(suffix)c"
        server = "fpct\(suffix)s"
        scratch = NSTemporaryDirectory() + "fpct\(suffix)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try ConntrackTests.script.write(toFile: scratch + "/traffic.py", atomically: true, encoding: .utf8)
        try ConntrackTests.ruleset.write(toFile: scratch + "/ruleset.nft", atomically: true, encoding: .utf8)

        // One shell for the whole lab: a process launch costs ~40 ms here.
        let (r, c, s) = (router, client, server)
        let lab = """
            set -e
            ip netns add \(r); ip netns add \(c); ip netns add \(s)
            # No DAD: a tentative link-local address delays IPv6 ND by ~1 s.
            for n in \(r) \(c) \(s); do
                ip netns exec $n sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
            done
            ip -n \(r) link add r0 type veth peer name c0 netns \(c)
            ip -n \(r) link add r1 type veth peer name s0 netns \(s)
            ip -n \(r) addr add 10.201.0.1/24 dev r0
            ip -n \(r) addr add fd01::1/64 dev r0 nodad
            ip -n \(r) addr add 10.202.0.1/24 dev r1
            ip -n \(r) addr add fd02::1/64 dev r1 nodad
            ip -n \(c) addr add 10.201.0.2/24 dev c0
            ip -n \(c) addr add fd01::2/64 dev c0 nodad
            ip -n \(s) addr add 10.202.0.2/24 dev s0
            ip -n \(s) addr add fd02::2/64 dev s0 nodad
            for d in lo r0 r1; do ip -n \(r) link set $d up; done
            for d in lo c0; do ip -n \(c) link set $d up; done
            for d in lo s0; do ip -n \(s) link set $d up; done
            ip -n \(c) route add default via 10.201.0.1
            ip -n \(c) -6 route add default via fd01::1
            ip -n \(s) route add default via 10.202.0.1
            ip -n \(s) -6 route add default via fd02::1
            ip netns exec \(r) sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
            ip netns exec \(r) nft -f \(scratch)/ruleset.nft
            """
        try lab.write(toFile: scratch + "/lab.sh", atomically: true, encoding: .utf8)
        try shell("sh", scratch + "/lab.sh")
    }

    override func tearDown() {
        for process in background where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        background = []
        if !router.isEmpty {
            _ = try? shell("sh", "-c", "ip netns del \(router); ip netns del \(client); ip netns del \(server)")
        }
        if !scratch.isEmpty { try? FileManager.default.removeItem(atPath: scratch) }
    }

    // MARK: - dump

    func testDumpShowsMasqueradedIPv4AndPlainIPv6WithTheirReplyTuples() throws {
        try startServers()
        try udpExchange(family: 4, sourcePort: 40001)
        try udpExchange(family: 6, sourcePort: 40002)
        try exec(client, "ping", "-c", "1", "-W", "2", "10.202.0.2")

        let monitor = try inRouter { () throws(FastPathError) in try ConntrackMonitor() }
        let entries = try monitor.dumpAll()

        let v4 = try XCTUnwrap(entries.first { $0.original.proto == 17 && $0.original.sourcePort == 40001 },
                               "IPv4 UDP entry in \(entries)")
        XCTAssertEqual(v4.original, ConntrackTuple(family: 4, proto: 17, source: clientV4, destination: serverV4,
                                                   sourcePort: 40001, destinationPort: 5353))
        XCTAssertEqual(v4.reply.family, 4)
        XCTAssertEqual(v4.reply.source, serverV4)
        XCTAssertEqual(v4.reply.sourcePort, 5353)
        XCTAssertEqual(v4.reply.destination, routerWAN, "masquerade: replies go to the router's WAN address")
        XCTAssertNotEqual(v4.reply.destinationPort, 0)
        XCTAssertTrue(v4.isSourceNAT)
        XCTAssertFalse(v4.isDestinationNAT)
        XCTAssertFalse(v4.isAssured, "one exchange only: not assured yet")
        XCTAssertNotEqual(v4.status & ConntrackEntry.statusSeenReply, 0)
        XCTAssertNil(v4.tcpState)
        XCTAssertGreaterThan(v4.timeout, 0)
        XCTAssertNotEqual(v4.id, 0)
        XCTAssertEqual(v4.zone, 0)

        let v6 = try XCTUnwrap(entries.first { $0.original.family == 6 && $0.original.sourcePort == 40002 },
                               "IPv6 UDP entry in \(entries)")
        XCTAssertEqual(v6.original, ConntrackTuple(family: 6, proto: 17, source: clientV6, destination: serverV6,
                                                   sourcePort: 40002, destinationPort: 5353))
        XCTAssertEqual(v6.reply, v6.original.inverted, "no NAT for IPv6")
        XCTAssertFalse(v6.isSourceNAT)

        let ping = try XCTUnwrap(entries.first { $0.original.proto == 1 }, "ICMP entry in \(entries)")
        XCTAssertEqual(ping.original.source, clientV4)
        XCTAssertEqual(ping.original.destinationPort, 8 << 8, "echo request: type 8, code 0")
        XCTAssertEqual(ping.reply.destination, routerWAN)
        XCTAssertEqual(ping.reply.destinationPort, 0, "echo reply: type 0, code 0")
        // The ICMP encoding (id, type << 8 | code) names the entry back.
        let control = try inRouter { () throws(FastPathError) in try ConntrackControl() }
        XCTAssertTrue(try control.delete(ping.original))
        XCTAssertFalse(try monitor.dumpAll().contains { $0.id == ping.id })
    }

    func testDumpShowsAnEstablishedAssuredTCPConnection() throws {
        try startServers()
        let connection = try background(client, python, scratch + "/traffic.py", "tcp-client", "4", "10.202.0.2",
                                        "8080", "40010", "5")
        defer { connection.terminate() }
        let monitor = try inRouter { () throws(FastPathError) in try ConntrackMonitor() }
        var found: ConntrackEntry?
        let deadline = Date().addingTimeInterval(10)
        while found == nil && Date() < deadline {
            found = try monitor.dumpAll().first {
                $0.original.proto == 6 && $0.original.sourcePort == 40010 && $0.isTCPEstablished && $0.isAssured
            }
            if found == nil { usleep(20_000) }
        }
        let entry = try XCTUnwrap(found, "no ESTABLISHED+ASSURED TCP entry")
        XCTAssertEqual(entry.tcpState, ConntrackEntry.tcpEstablished)
        XCTAssertEqual(entry.original.destination, serverV4)
        XCTAssertEqual(entry.original.destinationPort, 8080)
        XCTAssertEqual(entry.reply.destination, routerWAN)
        XCTAssertTrue(entry.isSourceNAT)
        XCTAssertGreaterThan(entry.timeout, 3600, "established TCP has the long timeout")
    }

    // MARK: - events

    func testEventsReportNewAssuredUpdateAndDestroy() throws {
        let monitor = try inRouter { () throws(FastPathError) in try ConntrackMonitor() }
        XCTAssertGreaterThan(monitor.pollDescriptor.rawValue, 2)
        XCTAssertGreaterThan(monitor.receiveBufferSize, 1 << 20)
        XCTAssertTrue(try monitor.receive().isEmpty, "nothing pending yet")
        try startServers()

        // A reply, then a packet 2.1 s after the first: UDP becomes ASSURED.
        try udpExchange(family: 4, sourcePort: 40020, gap: 2.1)
        var seen = try waitFor(monitor) {
            if case .update(let entry) = $0 { return entry.original.sourcePort == 40020 && entry.isAssured }
            return false
        }
        let created = try XCTUnwrap(seen.compactMap { event -> ConntrackEntry? in
            if case .new(let entry) = event, entry.original.sourcePort == 40020 { return entry }
            return nil
        }.first, "NEW event in \(seen)")
        XCTAssertEqual(created.original, ConntrackTuple(family: 4, proto: 17, source: clientV4, destination: serverV4,
                                                        sourcePort: 40020, destinationPort: 5353))
        XCTAssertEqual(created.reply.destination, routerWAN, "the NEW event already carries the NAT reply tuple")
        XCTAssertTrue(created.isSourceNAT, "and the SRC_NAT status bit")
        XCTAssertFalse(created.isAssured)
        XCTAssertGreaterThan(created.timeout, 0)
        let assured = try XCTUnwrap(seen.compactMap { event -> ConntrackEntry? in
            if case .update(let entry) = event, entry.isAssured { return entry }
            return nil
        }.first)
        XCTAssertEqual(assured.id, created.id)
        XCTAssertEqual(assured.reply, created.reply)
        XCTAssertTrue(assured.isSourceNAT)
        XCTAssertTrue(seen.contains {
            if case .update(let entry) = $0 {
                return entry.id == created.id && !entry.isAssured && entry.status & ConntrackEntry.statusSeenReply != 0
            }
            return false
        }, "an UPDATE for the first reply (SEEN_REPLY) before ASSURED")

        try exec(router, "conntrack", "-D", "-p", "udp", "--sport", "40020")
        seen = try waitFor(monitor) {
            if case .destroy(let entry) = $0 { return entry.id == created.id }
            return false
        }
        if case .destroy(let gone)? = seen.last {
            XCTAssertEqual(gone.original, created.original)
            XCTAssertEqual(gone.reply, created.reply)
            XCTAssertTrue(gone.isAssured)
            XCTAssertNil(gone.tcpState)
        }
    }

    /// The kernel's default `net.netfilter.nf_conntrack_events = 2` ("auto")
    /// gives an entry the event extension only if a ctnetlink listener
    /// exists when it is created, so entries from before a daemon started
    /// may never report their end. The daemon sets 1: then an entry created
    /// with no listener around still reports its DESTROY.
    func testEntriesCreatedBeforeTheMonitorReportTheirEndWithEventsForced() throws {
        try startServers()
        try exec(router, "sysctl", "-qw", "net.netfilter.nf_conntrack_events=1")
        try udpExchange(family: 4, sourcePort: 40041)

        let (monitor, control) = try inRouter { () throws(FastPathError) in
            (try ConntrackMonitor(), try ConntrackControl())
        }
        let entries = try monitor.dumpAll()
        let forced = try XCTUnwrap(entries.first { $0.original.sourcePort == 40041 })
        XCTAssertTrue(try control.delete(forced.original))
        let seen = try waitFor(monitor) {
            if case .destroy(let entry) = $0 { return entry.id == forced.id }
            return false
        }
        XCTAssertTrue(seen.contains { if case .destroy(let entry) = $0 { return entry.id == forced.id } else { return false } })
    }

    func testOverflowIsReported() throws {
        // The smallest buffer the kernel grants, then a burst of new flows.
        let monitor = try inRouter { () throws(FastPathError) in try ConntrackMonitor(receiveBufferSize: 1) }
        try exec(client, python, scratch + "/traffic.py", "udp-burst", "10.202.0.2", "9", "41000", "200")
        var seen: [ConntrackEvent] = []
        let deadline = Date().addingTimeInterval(2)
        while !seen.contains(.overflow) && Date() < deadline {
            var poller = Poller()
            poller.watch(monitor)
            if try poller.wait(timeoutMilliseconds: 100).contains(monitor) { seen += try monitor.receive() }
        }
        XCTAssertTrue(seen.contains(.overflow), "saw \(seen.count) events, no overflow")
        // After an overflow the socket keeps working, and a dump has the flows
        // (the router may still be creating the last entries).
        var burst: [ConntrackEntry] = []
        let dumpDeadline = Date().addingTimeInterval(3)
        repeat {
            burst = try monitor.dumpAll().filter { $0.original.destinationPort == 9 }
            if burst.count < 200 { usleep(50_000) }
        } while burst.count < 200 && Date() < dumpDeadline
        XCTAssertEqual(burst.count, 200)
    }

    // MARK: - control

    func testSetTimeoutChangesTheEntryAndDeleteRemovesIt() throws {
        // The monitor first: only entries created while someone listens send events.
        let (monitor, control) = try inRouter { () throws(FastPathError) in
            (try ConntrackMonitor(), try ConntrackControl())
        }
        try startServers()
        try udpExchange(family: 4, sourcePort: 40030)
        try udpExchange(family: 6, sourcePort: 40031)
        let entries = try monitor.dumpAll()
        let v4 = try XCTUnwrap(entries.first { $0.original.sourcePort == 40030 })
        let v6 = try XCTUnwrap(entries.first { $0.original.sourcePort == 40031 })
        XCTAssertLessThan(v4.timeout, 1000)

        XCTAssertTrue(try control.exists(v4.original))
        XCTAssertTrue(try control.exists(v6.original))
        XCTAssertTrue(try control.setTimeout(v4.original, seconds: 4321))
        XCTAssertTrue(try control.setTimeout(v6.original, seconds: 4322))
        let listed = try exec(router, "conntrack", "-L", "-p", "udp", "--sport", "40030")
        let listedTimeout = try XCTUnwrap(listed.split(whereSeparator: \.isWhitespace).dropFirst(2).first
                                            .flatMap { UInt32($0) }, "timeout in `\(listed)`")
        XCTAssertTrue((4300...4321).contains(listedTimeout), "conntrack -L shows \(listedTimeout)")
        let refreshed = try monitor.dumpAll()
        let v4After = try XCTUnwrap(refreshed.first { $0.id == v4.id })
        let v6After = try XCTUnwrap(refreshed.first { $0.id == v6.id })
        XCTAssertTrue((4300...4321).contains(v4After.timeout))
        XCTAssertTrue((4300...4322).contains(v6After.timeout))
        XCTAssertEqual(v4After.original, v4.original, "an update, not a new entry")
        // The monitor hears the change as an UPDATE carrying the new timeout.
        _ = try waitFor(monitor) {
            if case .update(let entry) = $0 { return entry.id == v4.id && (4300...4321).contains(entry.timeout) }
            return false
        }

        XCTAssertTrue(try control.delete(v4.original))
        XCTAssertTrue(try control.delete(v6.original))
        _ = try waitFor(monitor) {
            if case .destroy(let entry) = $0 { return entry.id == v4.id }
            return false
        }
        let remaining = try monitor.dumpAll()
        XCTAssertFalse(remaining.contains { $0.id == v4.id || $0.id == v6.id })
        XCTAssertEqual(try exec(router, "conntrack", "-L", "-p", "udp", "--sport", "40030"), "")

        // Gone: false, not an error, and nothing is created.
        XCTAssertFalse(try control.exists(v4.original))
        XCTAssertFalse(try control.exists(v6.original))
        XCTAssertFalse(try control.setTimeout(v4.original, seconds: 60))
        XCTAssertFalse(try control.delete(v4.original))
        XCTAssertFalse(try control.setTimeout(v6.original, seconds: 60))
        XCTAssertFalse(try monitor.dumpAll().contains { $0.original == v4.original })

        // The reply tuple does not name an entry by its original direction.
        XCTAssertFalse(try control.delete(v4.reply))
    }

    func testControlRejectsMalformedTuples() throws {
        let control = try inRouter { () throws(FastPathError) in try ConntrackControl() }
        let bad = ConntrackTuple(family: 4, proto: 17, source: [1, 2, 3], destination: serverV4,
                                 sourcePort: 1, destinationPort: 2)
        XCTAssertThrowsError(try control.delete(bad)) { error in
            XCTAssertEqual((error as? FastPathError)?.errno, EINVAL)
        }
    }

    // MARK: - helpers

    /// nftables on the router: a forward filter that uses conntrack, and
    /// IPv4 masquerade toward the server side.
    private static let ruleset = """
        table inet fpct {
            chain forward {
                type filter hook forward priority 0; policy drop;
                ct state established,related accept
                iifname "r0" accept
            }
            chain postrouting {
                type nat hook postrouting priority 100;
                oifname "r1" meta nfproto ipv4 masquerade
            }
        }
        """

    /// Traffic generators, run with `ip netns exec`.
    private static let script = """
        import socket, sys, time
        def family(f): return socket.AF_INET6 if f == '6' else socket.AF_INET
        def anyaddr(f): return '::' if f == '6' else '0.0.0.0'
        def sock(f, kind):
            s = socket.socket(family(f), kind)
            if f == '6': s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            return s
        mode = sys.argv[1]
        if mode == 'udp-server':
            s = sock(sys.argv[2], socket.SOCK_DGRAM)
            s.bind((anyaddr(sys.argv[2]), int(sys.argv[3])))
            while True:
                data, peer = s.recvfrom(2048)
                s.sendto(data, peer)
        elif mode == 'udp-client':
            f, dst, port, sport, gap = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
            c = sock(f, socket.SOCK_DGRAM)
            c.bind((anyaddr(f), sport))
            c.settimeout(0.2)
            def exchange(payload):
                for attempt in range(25):
                    c.sendto(payload, (dst, port))
                    try:
                        c.recvfrom(2048)
                        return
                    except socket.timeout:
                        pass
                sys.exit('no reply from %s' % dst)
            exchange(b'first')
            if gap > 0:
                time.sleep(gap)
                exchange(b'second')
        elif mode == 'udp-burst':
            dst, port, first, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
            for sport in range(first, first + count):
                c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                c.bind(('0.0.0.0', sport))
                c.sendto(b'x', (dst, port))
                c.close()
        elif mode == 'tcp-server':
            s = sock(sys.argv[2], socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((anyaddr(sys.argv[2]), int(sys.argv[3])))
            s.listen(8)
            while True:
                conn, peer = s.accept()
                while True:
                    data = conn.recv(2048)
                    if not data: break
                    conn.sendall(data)
                conn.close()
        elif mode == 'tcp-client':
            f, dst, port, sport, hold = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
            for attempt in range(25):
                c = sock(f, socket.SOCK_STREAM)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                c.bind((anyaddr(f), sport))
                try:
                    c.connect((dst, port))
                    break
                except OSError:
                    c.close()
                    time.sleep(0.1)
            c.sendall(b'hello')
            c.recv(2048)
            time.sleep(hold)
            c.close()
        """

    /// UDP echo servers on 5353 (IPv4 and IPv6) and a TCP echo server on
    /// 8080 in the server namespace, until tearDown.
    private func startServers() throws {
        _ = try background(server, python, scratch + "/traffic.py", "udp-server", "4", "5353")
        _ = try background(server, python, scratch + "/traffic.py", "udp-server", "6", "5353")
        _ = try background(server, python, scratch + "/traffic.py", "tcp-server", "4", "8080")
        // Wait until they listen: two UDP sockets on 5353, one TCP on 8080.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let udp = try exec(server, "ss", "-Hlnu", "sport = :5353").split(separator: "\n").count
            let tcp = try exec(server, "ss", "-Hlnt", "sport = :8080").split(separator: "\n").count
            if udp >= 2 && tcp >= 1 { return }
            usleep(20_000)
        }
        XCTFail("the traffic servers did not start listening")
    }

    /// A UDP request and its reply from the client (port `sourcePort`) to the
    /// server's 5353; with `gap`, a second exchange that much later.
    private func udpExchange(family: UInt8, sourcePort: UInt16, gap: Double = 0) throws {
        try exec(client, python, scratch + "/traffic.py", "udp-client", "\(family)",
                 family == 4 ? "10.202.0.2" : "fd02::2", "5353", "\(sourcePort)", "\(gap)")
    }

    private func inRouter<R>(_ body: () throws(FastPathError) -> R) throws -> R {
        try inNamespace(router, body)
    }

    private func index(of name: String) throws -> UInt32 {
        try interfaceIndex(name, in: router)
    }


    /// `ip -n NAMESPACE args…`
    @discardableResult
    private func ip(_ namespace: String, _ arguments: String...) throws -> String {
        try Shell.run(["ip", "-n", namespace] + arguments)
    }

    /// `ip netns exec NAMESPACE command…`
    @discardableResult
    private func exec(_ namespace: String, _ arguments: String...) throws -> String {
        try Shell.run(["ip", "netns", "exec", namespace] + arguments)
    }

    /// Starts `ip netns exec NAMESPACE command…` in the background; tearDown stops it.
    private func background(_ namespace: String, _ arguments: String...) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        background.append(process)
        return process
    }

}
