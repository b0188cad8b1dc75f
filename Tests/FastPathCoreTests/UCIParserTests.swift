import XCTest
@testable import FastPathCore

final class UCIParserTests: XCTestCase {
    private let file = "/etc/config/fastpath"

    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> UCIDocument {
        do {
            return try UCIParser.parse(text, file: self.file)
        } catch {
            XCTFail("unexpected parse error: \(error)", file: file, line: line)
            return UCIDocument(file: self.file)
        }
    }

    /// Every syntax error, as a person reads it.
    private func errors(_ text: String) -> [String] {
        UCIParser.parseCollecting(text, file: file).diagnostics.map { $0.description }
    }

    /// The single value of `section.option`.
    private func value(_ document: UCIDocument, _ section: String, _ option: String) -> String? {
        document.section(named: section)?.option(option)?.value
    }

    // MARK: - Structure

    func testSectionsAndOptionsKeepOrderAndLines() {
        let document = parse("""
            package fastpath

            config globals 'globals'
            \toption enabled '1'
            \toption mode 'auto'

            config interface 'lan'
            \toption device 'br-lan'
            """)
        XCTAssertEqual(document.file, file)
        XCTAssertEqual(document.package, "fastpath")
        XCTAssertEqual(document.sections.map { $0.type }, ["globals", "interface"])
        XCTAssertEqual(document.sections.map { $0.name }, ["globals", "lan"])
        XCTAssertEqual(document.sections.map { $0.line }, [3, 7])
        let globals = document.sections[0]
        XCTAssertEqual(globals.options, [
            UCIOption(name: "enabled", values: ["1"], isList: false, lines: [4]),
            UCIOption(name: "mode", values: ["auto"], isList: false, lines: [5]),
        ])
        XCTAssertEqual(document.sections[1].option("device")?.line, 8)
        XCTAssertNil(document.sections[1].option("mode"))
    }

    func testQuotingForms() {
        let document = parse("""
            config t s
            option plain value
            option single 'a value'
            option double "a value"
            option emptyish 'x'
            """)
        XCTAssertEqual(value(document, "s", "plain"), "value")
        XCTAssertEqual(value(document, "s", "single"), "a value")
        XCTAssertEqual(value(document, "s", "double"), "a value")
        XCTAssertEqual(value(document, "s", "emptyish"), "x")
    }

    func testAdjacentPartsMakeOneWord() {
        let document = parse(#"config t s; option a 'x y'"z"plain\ end'!'"#)
        XCTAssertEqual(value(document, "s", "a"), "x yzplain end!")
        let names = parse(#"config 'inter'face "l"an"#)
        XCTAssertEqual(names.sections.first?.type, "interface")
        XCTAssertEqual(names.sections.first?.name, "lan")
    }

    func testSingleQuotesTakeEverythingLiterally() {
        let document = parse(#"config t s; option a 'back\slash "dq" #hash ;semi'"#)
        XCTAssertEqual(value(document, "s", "a"), #"back\slash "dq" #hash ;semi"#)
    }

    func testDoubleQuoteEscapes() {
        // libuci does not decode escapes: a backslash just takes the next character.
        let document = parse(#"config t s; option a "q\"uote back\\slash \n 'sq' #no ;no""#)
        XCTAssertEqual(value(document, "s", "a"), #"q"uote back\slash n 'sq' #no ;no"#)
    }

    func testBackslashInUnquotedWords() {
        let document = parse(##"config t s; option a one\ two\'three\#four\;five"##)
        XCTAssertEqual(value(document, "s", "a"), "one two'three#four;five")
    }

    func testBackslashNewlineJoinsLines() {
        let document = parse("config t s\noption a abc\\\ndef\noption b \"x\\\ny\"\noption \\\nc 'z'\nconfig t u")
        XCTAssertEqual(value(document, "s", "a"), "abcdef")
        XCTAssertEqual(value(document, "s", "b"), "xy")
        XCTAssertEqual(value(document, "s", "c"), "z")
        XCTAssertEqual(document.section(named: "s")?.option("b")?.line, 4)
        XCTAssertEqual(document.section(named: "s")?.option("c")?.line, 6)
        XCTAssertEqual(document.section(named: "u")?.line, 8)
    }

    func testQuotedValuesMaySpanLines() {
        let document = parse("config t s\noption a 'one\ntwo'\noption b \"three\nfour\"\nconfig t u")
        XCTAssertEqual(value(document, "s", "a"), "one\ntwo")
        XCTAssertEqual(value(document, "s", "b"), "three\nfour")
        XCTAssertEqual(document.section(named: "s")?.option("b")?.line, 4)
        XCTAssertEqual(document.section(named: "u")?.line, 6)
    }

    func testComments() {
        let document = parse("""
            # leading comment
            \t  # indented comment
            config t s # after the name
            \toption a 'x' # after a value
            \toption b 'has # inside'
            \toption c "also # inside"
            \toption d word#glued
            #option e 'commented out'
            """)
        let section = document.sections[0]
        XCTAssertEqual(section.line, 3)
        XCTAssertEqual(section.options.map { $0.name }, ["a", "b", "c", "d"])
        XCTAssertEqual(value(document, "s", "a"), "x")
        XCTAssertEqual(value(document, "s", "b"), "has # inside")
        XCTAssertEqual(value(document, "s", "c"), "also # inside")
        // As in libuci, '#' outside quotes ends the word even mid-word.
        XCTAssertEqual(value(document, "s", "d"), "word")
    }

    func testBlankLinesTabsAndSpaces() {
        let document = parse("\n\n   \t\nconfig\tt\t\ts\n\n\t \toption   a\t 'v'  \t\n\n")
        XCTAssertEqual(document.sections.first?.line, 4)
        XCTAssertEqual(document.sections.first?.option("a")?.line, 6)
        XCTAssertEqual(value(document, "s", "a"), "v")
    }

    func testCRLFLineEnds() {
        let document = parse("config t 's'\r\n\toption a 'x'\r\n\toption b 'multi\r\nline'\r\n\toption c plain\r\nconfig t u\r\n")
        XCTAssertEqual(value(document, "s", "a"), "x")
        XCTAssertEqual(value(document, "s", "b"), "multi\nline")
        XCTAssertEqual(value(document, "s", "c"), "plain")
        XCTAssertEqual(document.section(named: "u")?.line, 6)
    }

    func testSemicolonSeparatesStatements() {
        let document = parse("config t s; option a 1;option b 2 ;\nconfig t u;;")
        XCTAssertEqual(value(document, "s", "a"), "1")
        XCTAssertEqual(value(document, "s", "b"), "2")
        XCTAssertEqual(document.section(named: "s")?.option("b")?.line, 1)
        XCTAssertEqual(document.section(named: "u")?.line, 2)
    }

    func testShortKeywords() {
        let document = parse("p pkg\nc t s\no a 1\nl b 2\nl b 3")
        XCTAssertEqual(document.package, "pkg")
        XCTAssertEqual(value(document, "s", "a"), "1")
        XCTAssertEqual(document.section(named: "s")?.option("b")?.values, ["2", "3"])
    }

    func testSectionTypesMayUsePunctuation() {
        // libuci validates types loosely (printable ASCII); names strictly.
        let document = parse("config my-type.v2 name_1")
        XCTAssertEqual(document.sections.first?.type, "my-type.v2")
        XCTAssertEqual(document.sections.first?.name, "name_1")
    }

    // MARK: - Anonymous sections

    func testAnonymousSectionsAndExtendedNames() {
        let document = parse("""
            config interface
            \toption device 'eth0'
            config interface 'lan'
            \toption device 'br-lan'
            config globals
            config interface ''
            \toption device 'eth2'
            """)
        XCTAssertEqual(document.sections.map { $0.name }, [nil, "lan", nil, nil])
        XCTAssertEqual(document.sections.map { $0.isAnonymous }, [true, false, true, true])
        XCTAssertEqual((0..<4).map { document.displayName(ofSectionAt: $0) },
                       ["@interface[0]", "lan", "@globals[0]", "@interface[2]"])
        XCTAssertEqual(document.section(type: "interface", index: 0)?.option("device")?.value, "eth0")
        XCTAssertEqual(document.section(type: "interface", index: 1)?.name, "lan")
        XCTAssertEqual(document.section(type: "interface", index: 2)?.option("device")?.value, "eth2")
        XCTAssertEqual(document.section(type: "interface", index: -1)?.option("device")?.value, "eth2")
        XCTAssertEqual(document.section(type: "interface", index: -3)?.option("device")?.value, "eth0")
        XCTAssertNil(document.section(type: "interface", index: 3))
        XCTAssertNil(document.section(type: "interface", index: -4))
        XCTAssertEqual(document.section(type: "globals", index: 0)?.line, 5)
        XCTAssertEqual(document.sections(ofType: "interface").count, 3)
    }

    // MARK: - Lists and overrides

    func testListsAccumulate() {
        let document = parse("config t s\n\tlist l 'a'\n\toption o 'x'\n\tlist l 'b c'\n\tlist l ''\n")
        let list = document.section(named: "s")?.option("l")
        XCTAssertEqual(list, UCIOption(name: "l", values: ["a", "b c", ""], isList: true, lines: [2, 4, 5]))
        XCTAssertEqual(list?.line, 2)
        XCTAssertEqual(document.section(named: "s")?.options.map { $0.name }, ["l", "o"])
    }

    func testListAfterOptionBecomesListAtTheEnd() {
        let document = parse("config t s\n\toption a 'first'\n\toption b 'x'\n\tlist a 'second'\n")
        let options = document.section(named: "s")?.options
        XCTAssertEqual(options?.map { $0.name }, ["b", "a"])
        XCTAssertEqual(options?.last, UCIOption(name: "a", values: ["first", "second"], isList: true, lines: [2, 4]))
    }

    func testLaterOptionReplacesAndMovesToTheEnd() {
        let document = parse("config t s\n\toption a '1'\n\toption b '2'\n\toption a '3'\n\tlist c 'x'\n\toption c 'y'\n")
        let options = document.section(named: "s")?.options
        XCTAssertEqual(options, [
            UCIOption(name: "b", values: ["2"], isList: false, lines: [3]),
            UCIOption(name: "a", values: ["3"], isList: false, lines: [4]),
            UCIOption(name: "c", values: ["y"], isList: false, lines: [6]),
        ])
    }

    func testSameValueKeepsPosition() {
        let document = parse("config t s\n\toption a '1'\n\toption b '2'\n\toption a '1'\n")
        XCTAssertEqual(document.section(named: "s")?.options.map { $0.name }, ["a", "b"])
        XCTAssertEqual(document.section(named: "s")?.option("a")?.line, 4)
    }

    func testEmptyOptionValueIsIgnored() {
        // uci_set with an empty value is a no-op while a file is parsed.
        let document = parse("config t s\n\toption a ''\n\toption b 'x'\n\toption b \"\"\n")
        XCTAssertNil(document.section(named: "s")?.option("a"))
        XCTAssertEqual(value(document, "s", "b"), "x")
    }

    func testEmptyWordsCountAsAbsentTrailingArguments() {
        let document = parse("config t s ''\n\toption a 'x' ''\n")
        XCTAssertEqual(value(document, "s", "a"), "x")
    }

    // MARK: - Named section merge

    func testNamedSectionIsReopened() {
        let document = parse("""
            config interface 'lan'
            \toption device 'br-lan'
            \toption mode 'tc'
            config interface 'wan'
            \toption device 'eth1'
            config interface 'lan'
            \toption mode 'native'
            \toption wan '0'
            """)
        XCTAssertEqual(document.sections.map { $0.name }, ["lan", "wan"])
        let lan = document.section(named: "lan")
        XCTAssertEqual(lan?.line, 1)
        XCTAssertEqual(lan?.options.map { $0.name }, ["device", "mode", "wan"])
        XCTAssertEqual(lan?.option("mode")?.value, "native")
        XCTAssertEqual(lan?.option("mode")?.line, 7)
    }

    func testAnonymousSectionsNeverMerge() {
        let document = parse("config t\nconfig t\n")
        XCTAssertEqual(document.sections.count, 2)
    }

    // MARK: - Errors

    func testUnterminatedSingleQuoteNamesTheOpeningLine() {
        XCTAssertEqual(errors("config t s\n\toption a 'open\n\toption b 'x'\n\n"),
                       ["/etc/config/fastpath:3: unterminated single quote"])
        XCTAssertEqual(errors("config t s\n\toption a 'never closed\n"),
                       ["/etc/config/fastpath:2: unterminated single quote"])
    }

    func testUnterminatedDoubleQuote() {
        XCTAssertEqual(errors("config t s\n\n\toption a \"x\\\"\n"),
                       ["/etc/config/fastpath:3: unterminated double quote"])
    }

    func testOptionBeforeConfig() {
        XCTAssertEqual(errors("# header\n\toption a 'x'\nconfig t s\n"),
                       ["/etc/config/fastpath:2: 'option' before the first 'config' section"])
        XCTAssertEqual(errors("package p\nlist a 'x'\n"),
                       ["/etc/config/fastpath:2: 'list' before the first 'config' section"])
    }

    func testUnknownKeyword() {
        XCTAssertEqual(errors("config t s\n\topton a 'x'\n"),
                       ["/etc/config/fastpath:2: unknown keyword 'opton' (expected package, config, option or list)"])
        // libuci reads the keyword raw: a quoted keyword is not one.
        XCTAssertEqual(errors("'config' t s\n"),
                       ["/etc/config/fastpath:1: unknown keyword 'config' (expected package, config, option or list)"])
        XCTAssertEqual(errors("configs t s\n").count, 1)
    }

    func testUnknownKeywordKeepsTheSectionOpen() {
        let result = UCIParser.parseCollecting("config t s\n\tbogus\n\toption a 'x'\n", file: file)
        XCTAssertEqual(result.diagnostics.map { $0.line }, [2])
        XCTAssertEqual(result.document.section(named: "s")?.option("a")?.value, "x")
    }

    func testMissingArguments() {
        XCTAssertEqual(errors("\nconfig\n"), ["/etc/config/fastpath:2: 'config' needs a section type"])
        XCTAssertEqual(errors("config ''\n"), ["/etc/config/fastpath:1: 'config' needs a section type"])
        XCTAssertEqual(errors("config t s\n\toption\n"), ["/etc/config/fastpath:2: 'option' needs a name and a value"])
        XCTAssertEqual(errors("config t s\n\toption mode\n"), ["/etc/config/fastpath:2: 'option mode' needs a value"])
        XCTAssertEqual(errors("config t s\n\tlist l # no value\n"), ["/etc/config/fastpath:2: 'list l' needs a value"])
        XCTAssertEqual(errors("package\n"), ["/etc/config/fastpath:1: 'package' needs a name"])
    }

    func testTooManyArguments() {
        XCTAssertEqual(errors("config t s extra\n"),
                       ["/etc/config/fastpath:1: too many arguments for 'config': unexpected 'extra'"])
        XCTAssertEqual(errors("config t s\n\toption a 'x' 'y'\n"),
                       ["/etc/config/fastpath:2: too many arguments for 'option': unexpected 'y'"])
        XCTAssertEqual(errors("config t s\n\tlist a x y z\n"),
                       ["/etc/config/fastpath:2: too many arguments for 'list': unexpected 'y'"])
        XCTAssertEqual(errors("package a b\n"),
                       ["/etc/config/fastpath:1: too many arguments for 'package': unexpected 'b'"])
    }

    func testInvalidNames() {
        XCTAssertEqual(errors("config interface 'wan-2'\n"),
                       ["/etc/config/fastpath:1: invalid section name 'wan-2': use only letters, digits and '_'"])
        XCTAssertEqual(errors("config interface 'a.b'\n").count, 1)
        XCTAssertEqual(errors("config 'bad type' s\n"),
                       ["/etc/config/fastpath:1: invalid section type 'bad type': use printable ASCII without spaces"])
        XCTAssertEqual(errors("config t s\n\toption 'log-level' 'x'\n"),
                       ["/etc/config/fastpath:2: invalid option name 'log-level': use only letters, digits and '_'"])
        XCTAssertEqual(errors("config t s\n\tlist 'a b' 'x'\n").count, 1)
        XCTAssertEqual(errors("package 'my pkg'\n"),
                       ["/etc/config/fastpath:1: invalid package name 'my pkg': use letters, digits, '_' and '-'"])
        XCTAssertEqual(errors("package my-pkg_2\n"), [])
    }

    func testReopeningWithAnotherTypeIsAnError() {
        XCTAssertEqual(errors("config interface 'lan'\n\toption device 'x'\n\nconfig globals 'lan'\n"),
                       ["/etc/config/fastpath:4: section 'lan' is declared as 'globals' here but as 'interface' at line 1"])
    }

    func testErrorLineOfAContinuedStatementIsTheOffendingWord() {
        XCTAssertEqual(errors("config t s\n\toption a \\\n 'x' \\\n 'y'\n"),
                       ["/etc/config/fastpath:4: too many arguments for 'option': unexpected 'y'"])
    }

    func testAllErrorsAreCollectedAndParsingGoesOn() {
        let text = """
            option early 'x'
            config interface 'bad-name'
            \toption device 'skipped with its section'
            config interface 'ok'
            \toption device 'eth0'
            \toption a b c
            \tfrobnicate
            config t s 'x' 'y'
            \toption 'bad name' v
            """
        let result = UCIParser.parseCollecting(text, file: file)
        XCTAssertEqual(result.diagnostics.map { $0.line }, [1, 2, 6, 7, 8])
        XCTAssertEqual(result.document.sections.map { $0.name }, ["ok"])
        XCTAssertEqual(result.document.section(named: "ok")?.options.map { $0.name }, ["device"])
    }

    func testParseThrowsTheFirstError() {
        do throws(ConfigDiagnostic) {
            _ = try UCIParser.parse("config t s\n\toption a\nbogus\n", file: "x.conf")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error, ConfigDiagnostic(file: "x.conf", line: 2, message: "'option a' needs a value"))
            XCTAssertNil(error.sectionType)
            XCTAssertNil(error.option)
            XCTAssertEqual(error.description, "x.conf:2: 'option a' needs a value")
        }
    }

    func testEmptyTextIsAnEmptyDocument() {
        XCTAssertEqual(parse(""), UCIDocument(file: file))
        XCTAssertEqual(parse("\n# only a comment\n\n"), UCIDocument(file: file))
    }
}
