import XCTest
@testable import FastPathCore

final class FastPathConfigTests: XCTestCase {
    private let file = "/etc/config/fastpath"

    private func load(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> FastPathConfig {
        let result = FastPathConfig.parse(text: text, file: self.file)
        guard let config = result.config else {
            XCTFail("unexpected diagnostics:\n" + result.diagnostics.map { $0.description }.joined(separator: "\n"),
                    file: file, line: line)
            return FastPathConfig()
        }
        XCTAssertTrue(result.diagnostics.isEmpty, file: file, line: line)
        return config
    }

    /// Every problem, as `fastpath check` prints it.
    private func problems(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        let result = FastPathConfig.parse(text: text, file: self.file)
        XCTAssertNil(result.config, "a config with problems must not load", file: file, line: line)
        return result.diagnostics.map { $0.description }
    }

    private func interface(_ device: String, _ options: String = "") -> String {
        "config interface\n\toption device '\(device)'\n" + options
    }

    // MARK: - Valid configs

    /// The project design's example config, byte for byte (tabs and comments).
    private let designExample = """
        config globals 'globals'
        \toption enabled '1'
        \toption mode 'auto'          # auto | native | generic | tc | off
        \toption policy 'conntrack'   # conntrack | routing
        \toption ipv4 '1'
        \toption ipv6 '1'
        \toption log_level 'info'

        config interface 'lan'
        \toption device 'br-lan'
        \toption mode 'auto'          # overrides globals.mode
        \toption policy 'conntrack'   # overrides globals.policy

        config interface 'wan'
        \toption device 'eth1'
        \toption wan '1'

        """

    func testDesignExample() {
        let config = load(designExample)
        var globals = FastPathConfig.Globals()
        globals.line = 1
        globals.modeLine = 3
        globals.policyLine = 4
        XCTAssertEqual(config.globals, globals)
        XCTAssertEqual(config.globals.enabled, true)
        XCTAssertEqual(config.globals.mode, .auto)
        XCTAssertEqual(config.globals.policy, .conntrack)
        XCTAssertEqual(config.globals.logLevel, .info)
        XCTAssertEqual(config.globals.maxFlows, 16384)
        XCTAssertEqual(config.globals.valveTimeout, 5)
        XCTAssertEqual(config.interfaces, [
            FastPathConfig.Interface(name: "lan", device: "br-lan", mode: .auto, policy: .conntrack,
                                     wan: false, enabled: true, line: 9, deviceLine: 10, modeLine: 11, policyLine: 12),
            FastPathConfig.Interface(name: "wan", device: "eth1", mode: .auto, policy: .conntrack,
                                     wan: true, enabled: true, line: 14, deviceLine: 15, modeLine: 3, policyLine: 4),
        ])
    }

    func testEmptyFileGivesDefaults() {
        let config = load("# nothing configured\n")
        XCTAssertEqual(config, FastPathConfig())
        XCTAssertEqual(config.globals.enabled, true)
        XCTAssertEqual(config.globals.mode, .auto)
        XCTAssertEqual(config.globals.policy, .conntrack)
        XCTAssertEqual(config.globals.ipv4, true)
        XCTAssertEqual(config.globals.ipv6, true)
        XCTAssertEqual(config.globals.logLevel, .info)
        XCTAssertEqual(config.globals.maxFlows, 16384)
        XCTAssertEqual(config.globals.valveTimeout, 5)
        XCTAssertNil(config.globals.line)
        XCTAssertEqual(config.interfaces, [])
    }

    func testEveryGlobalsOption() {
        let config = load("""
            config globals
            \toption enabled 'no'
            \toption mode 'generic'
            \toption policy 'routing'
            \toption ipv4 'off'
            \toption ipv6 'false'
            \toption log_level 'debug'
            \toption max_flows '1048576'
            \toption valve_timeout '3600'
            """)
        let g = config.globals
        XCTAssertEqual(g.enabled, false)
        XCTAssertEqual(g.mode, .generic)
        XCTAssertEqual(g.policy, .routing)
        XCTAssertEqual(g.ipv4, false)
        XCTAssertEqual(g.ipv6, false)
        XCTAssertEqual(g.logLevel, .debug)
        XCTAssertEqual(g.maxFlows, 1_048_576)
        XCTAssertEqual(g.valveTimeout, 3600)
        XCTAssertEqual(g.line, 1)
        XCTAssertEqual(g.modeLine, 3)
        XCTAssertEqual(g.policyLine, 4)
    }

    func testRangeLowerBounds() {
        let config = load("config globals g\n\toption max_flows 1\n\toption valve_timeout 1\n")
        XCTAssertEqual(config.globals.maxFlows, 1)
        XCTAssertEqual(config.globals.valveTimeout, 1)
    }

    func testInterfacesInheritModeAndPolicyFromGlobals() {
        // The globals section may come after the interfaces.
        let config = load("""
            config interface 'dmz'
            \toption device 'eth2'
            \toption mode 'native'
            config interface 'lan'
            \toption device 'br-lan'
            \toption enabled '0'
            config globals 'globals'
            \toption mode 'tc'
            \toption policy 'routing'
            """)
        XCTAssertEqual(config.interfaces.map { $0.name }, ["dmz", "lan"])
        XCTAssertEqual(config.interfaces.map { $0.mode }, [.native, .tc])
        XCTAssertEqual(config.interfaces.map { $0.modeLine }, [3, 8])
        XCTAssertEqual(config.interfaces.map { $0.policy }, [.routing, .routing])
        XCTAssertEqual(config.interfaces.map { $0.policyLine }, [9, 9])
        XCTAssertEqual(config.interfaces.map { $0.enabled }, [true, false])
        XCTAssertEqual(config.interfaces.map { $0.wan }, [false, false])
    }

    func testDefaultsWithoutGlobalsHaveNoLines() {
        let config = load(interface("eth0"))
        XCTAssertEqual(config.interfaces.first?.mode, .auto)
        XCTAssertEqual(config.interfaces.first?.policy, .conntrack)
        XCTAssertNil(config.interfaces.first?.modeLine)
        XCTAssertNil(config.interfaces.first?.policyLine)
    }

    func testEveryInterfaceMode() {
        for mode in FastPathConfig.Mode.allCases {
            let config = load(interface("eth0", "\toption mode '\(mode.rawValue)'\n"))
            XCTAssertEqual(config.interfaces.first?.mode, mode)
        }
    }

    func testBooleanWords() {
        let truths = ["1", "yes", "on", "true", "enabled"]
        let falsities = ["0", "no", "off", "false", "disabled"]
        for word in truths {
            XCTAssertEqual(load(interface("eth0", "\toption wan '\(word)'\n")).interfaces.first?.wan, true, word)
        }
        for word in falsities {
            XCTAssertEqual(load(interface("eth0", "\toption enabled '\(word)'\n")).interfaces.first?.enabled, false, word)
        }
    }

    func testAnonymousSectionsGetUCINames() {
        let config = load("""
            config interface
            \toption device 'eth0'
            config interface 'lan'
            \toption device 'br-lan'
            config interface
            \toption device 'eth1'
            config globals
            \toption log_level 'warning'
            """)
        XCTAssertEqual(config.interfaces.map { $0.name }, ["@interface[0]", "lan", "@interface[2]"])
        XCTAssertEqual(config.interfaces.map { $0.isAnonymous }, [true, false, true])
        XCTAssertEqual(config.globals.logLevel, .warning)
    }

    func testMergedNamedSectionsAreOneInterface() {
        let config = load("""
            config interface 'lan'
            \toption device 'br-lan'
            config interface 'lan'
            \toption mode 'tc'
            config globals 'globals'
            config globals 'globals'
            \toption ipv6 '0'
            """)
        XCTAssertEqual(config.interfaces.count, 1)
        XCTAssertEqual(config.interfaces.first?.mode, .tc)
        XCTAssertEqual(config.globals.ipv6, false)
    }

    func testRawValuesAreTheConfigWords() {
        XCTAssertEqual(FastPathConfig.Mode.allCases.map { $0.rawValue }, ["auto", "native", "generic", "tc", "off"])
        XCTAssertEqual(FastPathConfig.Policy.allCases.map { $0.rawValue }, ["conntrack", "routing"])
        XCTAssertEqual(FastPathConfig.LogLevel.allCases.map { $0.rawValue }, ["debug", "info", "notice", "warning", "error"])
    }

    func testRoutingIsFineOnANonWanInterface() {
        let config = load(interface("br-lan", "\toption policy 'routing'\n\toption wan '0'\n"))
        XCTAssertEqual(config.interfaces.first?.policy, .routing)
        XCTAssertEqual(config.interfaces.first?.policyLine, 3)
    }

    // MARK: - Diagnostics

    func testBadModeValueReadsAsInTheDesign() {
        XCTAssertEqual(problems("""
            config globals 'globals'
            \toption mode 'auto'

            config interface 'lan'
            \toption device 'br-lan'

            config interface 'wan'
            \toption mode 'fast'
            \toption device 'eth1'
            """), [
            "/etc/config/fastpath:8: interface 'wan': option 'mode': invalid value 'fast' (allowed: auto, native, generic, tc, off)",
        ])
    }

    func testDiagnosticFields() {
        let result = FastPathConfig.parse(text: interface("eth0", "\toption policy 'nat'\n"), file: "f")
        XCTAssertEqual(result.diagnostics, [
            ConfigDiagnostic(file: "f", line: 3, sectionType: "interface", sectionName: "@interface[0]",
                             option: "policy", message: "invalid value 'nat'", allowed: ["conntrack", "routing"]),
        ])
        XCTAssertEqual(result.diagnostics.first?.sectionLabel, "@interface[0]")
        XCTAssertEqual(result.diagnostics.first?.description,
                       "f:3: @interface[0]: option 'policy': invalid value 'nat' (allowed: conntrack, routing)")
    }

    func testBadEnumValues() {
        XCTAssertEqual(problems("config globals 'globals'\n\toption mode 'xdp'\n\toption policy 'fib'\n\toption log_level 'verbose'\n"), [
            "/etc/config/fastpath:2: globals 'globals': option 'mode': invalid value 'xdp' (allowed: auto, native, generic, tc, off)",
            "/etc/config/fastpath:3: globals 'globals': option 'policy': invalid value 'fib' (allowed: conntrack, routing)",
            "/etc/config/fastpath:4: globals 'globals': option 'log_level': invalid value 'verbose' (allowed: debug, info, notice, warning, error)",
        ])
        // Config words are case-sensitive, as in UCI.
        XCTAssertEqual(problems(interface("eth0", "\toption mode 'Auto'\n")).count, 1)
    }

    func testBadBooleans() {
        let allowed = "(allowed: 1, 0, yes, no, on, off, true, false, enabled, disabled)"
        XCTAssertEqual(problems("config globals 'globals'\n\toption enabled '2'\n\toption ipv4 'Yes'\n\toption ipv6 'y'\n"), [
            "/etc/config/fastpath:2: globals 'globals': option 'enabled': invalid value '2' \(allowed)",
            "/etc/config/fastpath:3: globals 'globals': option 'ipv4': invalid value 'Yes' \(allowed)",
            "/etc/config/fastpath:4: globals 'globals': option 'ipv6': invalid value 'y' \(allowed)",
        ])
        XCTAssertEqual(problems("config interface 'wan'\n\toption device 'eth1'\n\toption wan 'maybe'\n\toption enabled 'nope'\n"), [
            "/etc/config/fastpath:3: interface 'wan': option 'wan': invalid value 'maybe' \(allowed)",
            "/etc/config/fastpath:4: interface 'wan': option 'enabled': invalid value 'nope' \(allowed)",
        ])
    }

    func testIntegerRanges() {
        for bad in ["0", "1048577", "-1", "+5", "abc", "16k", " 5", "99999999999999999999999", "1.5"] {
            XCTAssertEqual(problems("config globals 'globals'\n\toption max_flows '\(bad)'\n"), [
                "/etc/config/fastpath:2: globals 'globals': option 'max_flows': invalid value '\(bad)': expected an integer from 1 to 1048576",
            ], bad)
        }
        for bad in ["0", "3601", "5s"] {
            XCTAssertEqual(problems("config globals 'globals'\n\toption valve_timeout '\(bad)'\n"), [
                "/etc/config/fastpath:2: globals 'globals': option 'valve_timeout': invalid value '\(bad)': expected an integer from 1 to 3600",
            ], bad)
        }
    }

    func testDisabledCapabilitiesAsListsOrWords() {
        XCTAssertEqual(load("config globals 'globals'\n").globals.disabledCapabilities, [])
        let listed = load("config globals 'globals'\n\tlist disable_capability 'coarse_clock'\n"
                          + "\tlist disable_capability 'xdp_tc_handoff'\n\tlist disable_capability 'coarse_clock'\n")
        XCTAssertEqual(listed.globals.disabledCapabilities, [.coarseClock, .xdpTCHandoff])
        let words = load("config globals 'globals'\n\toption disable_capability 'redirect_neigh xdp_tc_handoff'\n")
        XCTAssertEqual(words.globals.disabledCapabilities, [.redirectNeighbour, .xdpTCHandoff])
    }

    func testUnknownCapabilityNamesTheLineAndTheAllowedWords() {
        XCTAssertEqual(problems("config globals 'globals'\n\tlist disable_capability 'coarse_clock'\n"
                                + "\tlist disable_capability 'xdp_meta'\n"), [
            "/etc/config/fastpath:3: globals 'globals': option 'disable_capability': invalid value 'xdp_meta'"
                + " (allowed: xdp_tc_handoff, redirect_neigh, coarse_clock, xdp_features, fib_mark)",
        ])
    }

    func testUnknownSectionType() {
        XCTAssertEqual(problems("config globals 'globals'\n\nconfig interfaces 'lan'\n\toption device 'br-lan'\n"), [
            "/etc/config/fastpath:3: interfaces 'lan': unknown section type 'interfaces' (allowed: globals, interface)",
        ])
        XCTAssertEqual(problems("config rule\n"), [
            "/etc/config/fastpath:1: @rule[0]: unknown section type 'rule' (allowed: globals, interface)",
        ])
    }

    func testUnknownOptions() {
        XCTAssertEqual(problems("config globals 'globals'\n\toption debug '1'\n"), [
            "/etc/config/fastpath:2: globals 'globals': option 'debug': unknown option (allowed: enabled, mode, policy, ipv4, ipv6, log_level, max_flows, valve_timeout, disable_capability)",
        ])
        XCTAssertEqual(problems("config interface 'lan'\n\toption device 'br-lan'\n\toption ifname 'eth0'\n"), [
            "/etc/config/fastpath:3: interface 'lan': option 'ifname': unknown option (allowed: device, network, mode, policy, wan, enabled)",
        ])
        // Options valid only in the other section type are unknown here.
        XCTAssertEqual(problems("config interface 'lan'\n\toption device 'br-lan'\n\toption log_level 'info'\n").count, 1)
        XCTAssertEqual(problems("config globals 'globals'\n\toption device 'br-lan'\n").count, 1)
    }

    func testListForASingleValueOption() {
        XCTAssertEqual(problems("config interface 'lan'\n\tlist device 'br-lan'\n\tlist device 'eth0'\n"), [
            "/etc/config/fastpath:2: interface 'lan': option 'device': takes a single value: use 'option device VALUE', not 'list'",
        ])
        XCTAssertEqual(problems("config globals 'globals'\n\tlist mode 'tc'\n"), [
            "/etc/config/fastpath:2: globals 'globals': option 'mode': takes a single value: use 'option mode VALUE', not 'list'",
        ])
        // An option followed by a list of the same name is a list too.
        XCTAssertEqual(problems("config globals 'globals'\n\toption ipv4 '1'\n\tlist ipv4 '0'\n"), [
            "/etc/config/fastpath:2: globals 'globals': option 'ipv4': takes a single value: use 'option ipv4 VALUE', not 'list'",
        ])
    }

    func testMissingDevice() {
        XCTAssertEqual(problems("config globals 'globals'\n\nconfig interface 'lan'\n\toption mode 'tc'\n"), [
            "/etc/config/fastpath:3: interface 'lan': option 'device': missing option 'device' (the Linux interface name) or 'network' (the interface in /etc/config/network)",
        ])
        // An empty value is no value in UCI.
        XCTAssertEqual(problems("config interface 'lan'\n\toption device ''\n"), [
            "/etc/config/fastpath:1: interface 'lan': option 'device': missing option 'device' (the Linux interface name) or 'network' (the interface in /etc/config/network)",
        ])
    }

    /// `option network` names a netifd interface, as other OpenWrt configs
    /// do; `device` beside it is the fallback while netifd reports none.
    func testNetifdInterfaceNames() {
        let config = load("config interface 'wan'\n\toption network 'wan'\n\toption wan '1'\n\n"
                          + "config interface 'lan'\n\toption network 'lan'\n\toption device 'br-lan'\n")
        XCTAssertEqual(config.interfaces.map { $0.network }, ["wan", "lan"])
        XCTAssertEqual(config.interfaces.map { $0.device }, ["", "br-lan"])
        XCTAssertEqual(config.interfaces[0].deviceLine, 2)
        let netifd = ["wan": "pppoe-wan", "lan": "br-lan"]
        XCTAssertEqual(config.interfaces[0].resolvedDevice(netifd), "pppoe-wan")
        XCTAssertNil(config.interfaces[0].resolvedDevice([:]), "wan is down: no device yet")
        XCTAssertEqual(config.interfaces[1].resolvedDevice([:]), "br-lan", "the fallback")
        XCTAssertEqual(problems("config interface 'a'\n\toption network 'wan-6'\n"), [
            "/etc/config/fastpath:2: interface 'a': option 'network': invalid network name 'wan-6': a netifd interface name has only letters, digits and '_'",
        ])
        XCTAssertEqual(problems("config interface 'a'\n\toption network 'wan'\n\nconfig interface 'b'\n\toption network 'wan'\n"), [
            "/etc/config/fastpath:5: interface 'b': option 'network': network 'wan' is already used by interface 'a' (line 2)",
        ])
    }

    /// The kernel's `dev_valid_name`, byte by byte.
    func testInvalidDeviceNames() {
        let cases: [([UInt8], String, String)] = [
            (Array("abcdefghijklmnop".utf8), "abcdefghijklmnop", "longer than 15 bytes (16)"),
            (Array("eth/0".utf8), "eth/0", "contains '/'"),
            (Array("eth0:1".utf8), "eth0:1", "contains ':'"),
            (Array("eth 0".utf8), "eth 0", "contains whitespace"),
            (Array("eth\t0".utf8), "eth\\x090", "contains whitespace"),
            (Array("eth\u{0B}0".utf8), "eth\\x0b0", "contains whitespace"),
            (Array("eth\r0".utf8), "eth\\x0d0", "contains whitespace"),
            (Array(".".utf8), ".", "'.' and '..' are not interface names"),
            (Array("..".utf8), "..", "'.' and '..' are not interface names"),
            // The kernel's isspace() takes 0xA0 for whitespace, also inside UTF-8 (à is C3 A0).
            (Array("lan-\u{E0}".utf8), "lan-\u{E0}", "contains the byte 0xa0, which the kernel takes for whitespace"),
            ([0x65, 0x74, 0x68, 0xA0], "eth\\xa0", "contains the byte 0xa0, which the kernel takes for whitespace"),
            // The length counts bytes, as IFNAMSIZ does: 9 characters, 16 bytes.
            (Array("\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}ab".utf8), "\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}ab", "longer than 15 bytes (16)"),
        ]
        for (device, shown, reason) in cases {
            let result = FastPathConfig.parse(Array("config interface 'x'\n\toption device '".utf8) + device + Array("'\n".utf8), file: file)
            XCTAssertEqual(result.diagnostics.map { $0.description }, [
                "/etc/config/fastpath:2: interface 'x': option 'device': invalid device name '\(shown)': \(reason)",
            ], shown)
        }
        // 15 bytes is the kernel's limit (IFNAMSIZ - 1); dots and dashes are fine.
        XCTAssertEqual(load(interface("abcdefghijklmno")).interfaces.first?.device, "abcdefghijklmno")
        XCTAssertEqual(load(interface("br-lan.10")).interfaces.first?.device, "br-lan.10")
        // UTF-8 of 15 bytes (7 two-byte characters and one byte).
        XCTAssertEqual(load(interface("\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}a")).interfaces.first?.device,
                       "\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}a")
    }

    /// libuci hands over bytes that are not UTF-8 as they are; the kernel
    /// would take them in a name, but fastpath handles names as text and
    /// refuses them instead of changing them (U+FFFD would be another name,
    /// and three bytes long).
    func testDeviceNameThatIsNotUTF8IsRefused() {
        let result = FastPathConfig.parse(Array("config interface 'lan'\n\toption device 'br-".utf8) + [0xFF, 0xFE] + Array("'\n".utf8), file: file)
        XCTAssertEqual(result.diagnostics.map { $0.description }, [
            "/etc/config/fastpath:2: interface 'lan': option 'device': invalid device name 'br-\\xff\\xfe': not UTF-8 (fastpath handles interface names as text)",
        ])
        // 15 bytes as they are; a decoded copy would be 19.
        let fifteen = Array("eth0123456789".utf8) + [0xC3, 0x28]
        XCTAssertEqual(FastPathConfig.parse(Array("config interface 'lan'\n\toption device '".utf8) + fifteen + Array("'\n".utf8), file: file)
            .diagnostics.map { $0.description }, [
            "/etc/config/fastpath:2: interface 'lan': option 'device': invalid device name 'eth0123456789\\xc3(': not UTF-8 (fastpath handles interface names as text)",
        ])
    }

    /// Values other than device names are bytes too: a bad one is shown
    /// escaped, on one line.
    func testInvalidValuesAreShownEscaped() {
        XCTAssertEqual(problems("config globals 'g'\n\toption mode 'tc\r\n'\n"), [
            "/etc/config/fastpath:2: globals 'g': option 'mode': invalid value 'tc\\x0d\\x0a' (allowed: auto, native, generic, tc, off)",
        ])
        XCTAssertEqual(FastPathConfig.parse(Array("config globals 'g'\n\toption max_flows '1".utf8) + [0xB2] + Array("'\n".utf8), file: file)
            .diagnostics.map { $0.description }, [
            "/etc/config/fastpath:2: globals 'g': option 'max_flows': invalid value '1\\xb2': expected an integer from 1 to 1048576",
        ])
    }

    func testDuplicateDevice() {
        XCTAssertEqual(problems("""
            config interface 'lan'
            \toption device 'eth0'
            config interface 'lan2'
            \toption mode 'tc'
            \toption device 'eth0'
            """), [
            "/etc/config/fastpath:5: interface 'lan2': option 'device': device 'eth0' is already used by interface 'lan' (line 2)",
        ])
    }

    func testTwoGlobalsSections() {
        XCTAssertEqual(problems("""
            config globals 'globals'
            \toption mode 'tc'

            config globals 'other'
            \toption mode 'native'
            """), [
            "/etc/config/fastpath:4: globals 'other': only one globals section is allowed (the first is at line 1)",
        ])
        XCTAssertEqual(problems("config globals\nconfig globals\n"), [
            "/etc/config/fastpath:2: @globals[1]: only one globals section is allowed (the first is at line 1)",
        ])
    }

    func testOptionsOfASecondGlobalsSectionAreStillChecked() {
        XCTAssertEqual(problems("config globals\nconfig globals\n\toption mode 'x'\n").map { String($0.prefix(30)) }, [
            "/etc/config/fastpath:2: @globa",
            "/etc/config/fastpath:3: @globa",
        ])
    }

    func testRoutingOnWanIsRefused() {
        XCTAssertEqual(problems("""
            config interface 'wan'
            \toption device 'eth1'
            \toption policy 'routing'
            \toption wan '1'
            """), [
            "/etc/config/fastpath:3: interface 'wan': option 'policy': policy 'routing' forwards without the firewall and is refused on a wan interface; use 'conntrack'",
        ])
    }

    func testRoutingInheritedFromGlobalsIsRefusedOnWan() {
        XCTAssertEqual(problems("""
            config globals 'globals'
            \toption enabled '1'
            \toption policy 'routing'

            config interface 'lan'
            \toption device 'br-lan'

            config interface 'wan'
            \toption device 'eth1'
            \toption wan 'yes'
            """), [
            "/etc/config/fastpath:3: interface 'wan': option 'policy': policy 'routing' (inherited from globals) forwards without the firewall and is refused on a wan interface; use 'conntrack'",
        ])
        // An interface's own conntrack policy overrides the globals' routing.
        let config = load("config globals g\n\toption policy routing\n" + interface("eth1", "\toption wan 1\n\toption policy conntrack\n"))
        XCTAssertEqual(config.interfaces.first?.policy, .conntrack)
        XCTAssertEqual(config.interfaces.first?.policyLine, 6)
    }

    func testAllProblemsAreCollectedInLineOrder() {
        let text = """
            config globals 'globals'
            \toption mode 'turbo'
            \toption policy 'routing'
            \toption max_flows '0'

            config interface 'wan'
            \toption device 'eth1'
            \toption wan '1'
            \toption speed 'fast'

            config interface 'lan'
            \toption enabled 'maybe'

            config interface 'dup'
            \toption device 'eth1'

            config firewall 'fw'

            config globals 'again'
            """
        let result = FastPathConfig.parse(text: text, file: file)
        XCTAssertNil(result.config)
        XCTAssertEqual(result.diagnostics.map { $0.description }, [
            "/etc/config/fastpath:2: globals 'globals': option 'mode': invalid value 'turbo' (allowed: auto, native, generic, tc, off)",
            "/etc/config/fastpath:3: interface 'wan': option 'policy': policy 'routing' (inherited from globals) forwards without the firewall and is refused on a wan interface; use 'conntrack'",
            "/etc/config/fastpath:4: globals 'globals': option 'max_flows': invalid value '0': expected an integer from 1 to 1048576",
            "/etc/config/fastpath:9: interface 'wan': option 'speed': unknown option (allowed: device, network, mode, policy, wan, enabled)",
            "/etc/config/fastpath:11: interface 'lan': option 'device': missing option 'device' (the Linux interface name) or 'network' (the interface in /etc/config/network)",
            "/etc/config/fastpath:12: interface 'lan': option 'enabled': invalid value 'maybe' (allowed: 1, 0, yes, no, on, off, true, false, enabled, disabled)",
            "/etc/config/fastpath:15: interface 'dup': option 'device': device 'eth1' is already used by interface 'wan' (line 7)",
            "/etc/config/fastpath:17: firewall 'fw': unknown section type 'firewall' (allowed: globals, interface)",
            "/etc/config/fastpath:19: globals 'again': only one globals section is allowed (the first is at line 1)",
        ])
    }

    func testSyntaxErrorsComeAloneAndAllOfThem() {
        // With syntax errors, the schema is not checked (it would repeat them).
        XCTAssertEqual(problems("""
            config interface 'lan'
            \toption device 'br-lan' 'extra'
            \toption mode 'nonsense'
            config interface 'bad-name'
            """), [
            "/etc/config/fastpath:2: too many arguments for 'option': unexpected 'extra'",
            "/etc/config/fastpath:4: invalid section name 'bad-name': use only letters, digits and '_'",
        ])
    }

    func testValidateTakesAParsedDocument() throws {
        let document = try UCIParser.parse(designExample, file: "design")
        let result = FastPathConfig.validate(document)
        XCTAssertEqual(result, FastPathConfig.parse(text: designExample, file: "design"))
        XCTAssertEqual(result.config?.interfaces.count, 2)
        XCTAssertEqual(result.diagnostics, [])
    }

    func testOnlyMapSizesAndCapabilitiesNeedAFreshLoad() {
        let running = FastPathConfig.Globals()
        var next = running
        next.ipv6 = false
        next.valveTimeout = 9
        next.logLevel = .debug
        XCTAssertEqual(next.loadTimeOptions(differingFrom: running), [], "a reconcile applies these")
        next.maxFlows = 1024
        next.disabledCapabilities = [.fibMark]
        XCTAssertEqual(next.loadTimeOptions(differingFrom: running), ["max_flows", "disable_capability"])
    }
}
