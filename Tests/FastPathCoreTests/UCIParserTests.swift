import XCTest
@testable import FastPathCore

/// The parser against libuci's `file.c` (`uci_import` as `uci_load` runs
/// it): each test names the libuci behaviour it pins down. Expected values
/// were checked against libuci itself.
final class UCIParserTests: XCTestCase {
    private let file = "/etc/config/fastpath"

    private func parse(_ input: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> UCIDocument {
        do {
            return try UCIParser.parse(input, file: self.file)
        } catch {
            XCTFail("unexpected parse error: \(error)", file: file, line: line)
            return UCIDocument(file: self.file)
        }
    }

    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> UCIDocument {
        parse(Array(text.utf8), file: file, line: line)
    }

    /// Every syntax error, as a person reads it.
    private func errors(_ input: [UInt8]) -> [String] {
        UCIParser.parseCollecting(input, file: file).diagnostics.map { $0.description }
    }

    private func errors(_ text: String) -> [String] {
        errors(Array(text.utf8))
    }

    private func bytes(_ text: String) -> [UInt8] {
        Array(text.utf8)
    }

    /// The single value of `section.option`.
    private func value(_ document: UCIDocument, _ section: String, _ option: String) -> [UInt8]? {
        document.section(named: section)?.option(option)?.value
    }

    // MARK: - Structure

    func testSectionsAndOptionsKeepOrderAndLines() {
        let document = parse("""
            config globals 'globals'
            \toption enabled '1'
            \toption mode 'auto'

            config interface 'lan'
            \toption device 'br-lan'
            """)
        XCTAssertEqual(document.file, file)
        XCTAssertEqual(document.sections.map { $0.type }, ["globals", "interface"])
        XCTAssertEqual(document.sections.map { $0.name }, ["globals", "lan"])
        XCTAssertEqual(document.sections.map { $0.line }, [1, 5])
        XCTAssertEqual(document.sections[0].options, [
            UCIOption(name: "enabled", values: [bytes("1")], isList: false, lines: [2]),
            UCIOption(name: "mode", values: [bytes("auto")], isList: false, lines: [3]),
        ])
        XCTAssertEqual(document.sections[1].option("device")?.line, 6)
        XCTAssertNil(document.sections[1].option("mode"))
    }

    func testShortKeywords() {
        let document = parse("c t s\no a 1\nl b 2\nl b 3")
        XCTAssertEqual(value(document, "s", "a"), bytes("1"))
        XCTAssertEqual(document.section(named: "s")?.option("b")?.values, [bytes("2"), bytes("3")])
    }

    /// `uci_load` imports one package named by the file: `package` is
    /// checked like any statement and changes nothing.
    func testPackageIsCheckedAndIgnored() {
        let document = parse("package other\nconfig t s\np x\n\toption a 1\n")
        XCTAssertEqual(document.sections.map { $0.name }, ["s"])
        XCTAssertEqual(value(document, "s", "a"), bytes("1"))
        XCTAssertEqual(errors("package my-pkg_2\n"), [])
        XCTAssertEqual(errors("package 'my pkg'\n"),
                       ["/etc/config/fastpath:1: invalid package name 'my pkg': use letters, digits, '_' and '-'"])
        XCTAssertEqual(errors("package a b\n"),
                       ["/etc/config/fastpath:1: too many arguments for 'package': unexpected 'b'"])
    }

    func testBlankLinesTabsAndSpaces() {
        let document = parse("\n\n   \t\nconfig\tt\t\ts\n\n\t \toption   a\t 'v'  \t\n\n")
        XCTAssertEqual(document.sections.first?.line, 4)
        XCTAssertEqual(document.sections.first?.option("a")?.line, 6)
        XCTAssertEqual(value(document, "s", "a"), bytes("v"))
    }

    func testEmptyTextIsAnEmptyDocument() {
        XCTAssertEqual(parse(""), UCIDocument(file: file))
        XCTAssertEqual(parse("\n# only a comment\n\n"), UCIDocument(file: file))
    }

    // MARK: - Keywords and whitespace

    /// `uci_parse_line` cuts the keyword with `strtok(" \t")`: VT, FF and
    /// CR do not end it, so `config\vt` is one word and no keyword.
    func testOnlySpaceAndTabEndAKeyword() {
        XCTAssertEqual(errors("config\u{0B}t s\n"),
                       ["/etc/config/fastpath:1: 'config' must be followed by a space or tab, not '\\x0b'"])
        XCTAssertEqual(errors("config\u{0C}t s\n"),
                       ["/etc/config/fastpath:1: 'config' must be followed by a space or tab, not '\\x0c'"])
        XCTAssertEqual(errors("config t s\n\toption\ra b\n"),
                       ["/etc/config/fastpath:2: 'option' must be followed by a space or tab, not '\\x0d'"])
        XCTAssertEqual(errors("config t s\n\to\u{0B}a b\n"),
                       ["/etc/config/fastpath:2: 'o' must be followed by a space or tab, not '\\x0b'"])
    }

    /// The keyword word takes the line end too (`config\n`): libuci calls
    /// it an invalid command; so is a keyword at the end of the file.
    func testKeywordWithoutArgumentsIsAnError() {
        XCTAssertEqual(errors("\nconfig\n"), ["/etc/config/fastpath:2: 'config' needs a section type"])
        XCTAssertEqual(errors("config\r\n"), ["/etc/config/fastpath:1: 'config' needs a section type"])
        XCTAssertEqual(errors("config t s\n\toption\n"), ["/etc/config/fastpath:2: 'option' needs a name"])
        XCTAssertEqual(errors("package\n"), ["/etc/config/fastpath:1: 'package' needs a name"])
        XCTAssertEqual(errors("config t s\n\tlist"), ["/etc/config/fastpath:2: 'list' needs a name"])
        XCTAssertEqual(errors("config"), ["/etc/config/fastpath:1: 'config' needs a section type"])
        XCTAssertEqual(errors("config ''\n"), ["/etc/config/fastpath:1: 'config' needs a section type"])
        XCTAssertEqual(errors("config t s\n\toption ''\n"), ["/etc/config/fastpath:2: 'option' needs a name"])
        XCTAssertEqual(errors("package \n"), ["/etc/config/fastpath:1: 'package' needs a name"])
    }

    /// Arguments are separated by `isspace` bytes (`skip_whitespace`,
    /// `parse_str`), VT, FF and CR included; lines may start with any of them.
    func testArgumentsAreSeparatedByAnyCWhitespace() {
        let document = parse("\u{0B}\u{0C}\rconfig t\u{0B}s\n\toption a\u{0C}x\n\toption b\ry\n\toption c \u{0B}\u{0C}\rz\n")
        XCTAssertEqual(document.sections.first?.name, "s")
        XCTAssertEqual(value(document, "s", "a"), bytes("x"))
        XCTAssertEqual(value(document, "s", "b"), bytes("y"))
        XCTAssertEqual(value(document, "s", "c"), bytes("z"))
    }

    func testUnknownKeyword() {
        XCTAssertEqual(errors("config t s\n\topton a 'x'\n"),
                       ["/etc/config/fastpath:2: unknown keyword 'opton' (expected package, config, option or list)"])
        // The keyword is read raw: a quoted keyword is not one.
        XCTAssertEqual(errors("'config' t s\n"),
                       ["/etc/config/fastpath:1: unknown keyword ''config'' (expected package, config, option or list)"])
        XCTAssertEqual(errors("configs t s\n").count, 1)
        XCTAssertEqual(errors("config t s\n\to#x a b\n").count, 1)
        XCTAssertEqual(errors([0xFF] + bytes("config t\n")),
                       ["/etc/config/fastpath:1: unknown keyword '\\xffconfig' (expected package, config, option or list)"])
        // The word runs to the line end; trailing whitespace is not shown.
        XCTAssertEqual(errors("config t s\n\tbogus\r\n"),
                       ["/etc/config/fastpath:2: unknown keyword 'bogus' (expected package, config, option or list)"])
        XCTAssertEqual(errors("config t s\n\tbogus\u{0B}x\n"),
                       ["/etc/config/fastpath:2: unknown keyword 'bogus\\x0bx' (expected package, config, option or list)"])
    }

    func testUnknownKeywordKeepsTheSectionOpen() {
        let result = UCIParser.parseCollecting("config t s\n\tbogus\n\toption a 'x'\n", file: file)
        XCTAssertEqual(result.diagnostics.map { $0.line }, [2])
        XCTAssertEqual(result.document.section(named: "s")?.option("a")?.value, bytes("x"))
    }

    // MARK: - Quotes and backslashes

    func testQuotingForms() {
        let document = parse("""
            config t s
            option plain value
            option single 'a value'
            option double "a value"
            """)
        XCTAssertEqual(value(document, "s", "plain"), bytes("value"))
        XCTAssertEqual(value(document, "s", "single"), bytes("a value"))
        XCTAssertEqual(value(document, "s", "double"), bytes("a value"))
    }

    func testAdjacentPartsMakeOneWord() {
        let document = parse(#"config t s ; option a 'x y'"z"plain\ end'!'"#)
        XCTAssertEqual(value(document, "s", "a"), bytes("x yzplain end!"))
        let names = parse(#"config 'inter'face "l"an"#)
        XCTAssertEqual(names.sections.first?.type, "interface")
        XCTAssertEqual(names.sections.first?.name, "lan")
    }

    func testSingleQuotesTakeEverythingLiterally() {
        let document = parse("config t s\noption a 'back\\slash \"dq\" #hash ;semi'\noption b 'x\\\ny'\n")
        XCTAssertEqual(value(document, "s", "a"), bytes(#"back\slash "dq" #hash ;semi"#))
        XCTAssertEqual(value(document, "s", "b"), bytes("x\\\ny"))
    }

    /// `parse_backslash` decodes nothing: the next byte is taken as it is.
    func testBackslashTakesTheNextByte() {
        let document = parse(#"config t s ; option a "q\"uote back\\slash \n 'sq' #no ;no""#)
        XCTAssertEqual(value(document, "s", "a"), bytes(#"q"uote back\slash n 'sq' #no ;no"#))
        let plain = parse(##"config t s ; option a one\ two\'three\#four\;five"##)
        XCTAssertEqual(value(plain, "s", "a"), bytes("one two'three#four;five"))
    }

    /// A backslash before `\n`, or before `\r\n` at the end of the line,
    /// joins the next line, in a plain word and in double quotes.
    func testBackslashNewlineJoinsLines() {
        let document = parse("config t s\noption a abc\\\ndef\noption b \"x\\\ny\"\noption \\\nc 'z'\noption d x\\\r\ny\noption e \"x\\\r\ny\"\nconfig t u")
        XCTAssertEqual(value(document, "s", "a"), bytes("abcdef"))
        XCTAssertEqual(value(document, "s", "b"), bytes("xy"))
        XCTAssertEqual(value(document, "s", "c"), bytes("z"))
        XCTAssertEqual(value(document, "s", "d"), bytes("xy"))
        XCTAssertEqual(value(document, "s", "e"), bytes("xy"))
        XCTAssertEqual(document.section(named: "s")?.option("b")?.line, 4)
        XCTAssertEqual(document.section(named: "s")?.option("c")?.line, 6)
        XCTAssertEqual(document.section(named: "u")?.line, 12)
    }

    /// After a joined line, `parse_str` tests the next byte for whitespace:
    /// a joined line that starts with a space ends the word there.
    func testJoinedLineStartingWithSpaceEndsTheWord() {
        XCTAssertEqual(errors("config t s\n\toption a abc\\\n def\n"),
                       ["/etc/config/fastpath:3: too many arguments for 'option': unexpected 'def'"])
        XCTAssertEqual(errors("config t s\n\toption a \\\n 'x' \\\n 'y'\n").first,
                       "/etc/config/fastpath:3: too many arguments for 'option': unexpected 'x'")
        XCTAssertEqual(errors("config t s\noption \\\n c 'z'\n"), ["/etc/config/fastpath:2: 'option' needs a name"])
    }

    func testQuotedValuesMaySpanLines() {
        let document = parse("config t s\noption a 'one\ntwo'\noption b \"three\nfour\"\nconfig t u")
        XCTAssertEqual(value(document, "s", "a"), bytes("one\ntwo"))
        XCTAssertEqual(value(document, "s", "b"), bytes("three\nfour"))
        XCTAssertEqual(document.section(named: "s")?.option("b")?.line, 4)
        XCTAssertEqual(document.section(named: "u")?.line, 6)
    }

    // MARK: - Line ends, comments, semicolons

    /// A CR before the LF is whitespace after a statement, but a quoted value
    /// that spans lines keeps its CR LF: libuci reads bytes, not lines of text.
    func testCRLFLineEnds() {
        let document = parse("config t 's'\r\n\toption a 'x'\r\n\toption b 'multi\r\nline'\r\n\toption c plain\r\n\toption d \"two\r\nlines\"\r\nconfig t u\r\n")
        XCTAssertEqual(value(document, "s", "a"), bytes("x"))
        XCTAssertEqual(value(document, "s", "b"), bytes("multi\r\nline"))
        XCTAssertEqual(value(document, "s", "c"), bytes("plain"))
        XCTAssertEqual(value(document, "s", "d"), bytes("two\r\nlines"))
        XCTAssertEqual(document.section(named: "u")?.line, 8)
    }

    /// `#` outside quotes ends the statement even mid-word; a statement
    /// whose first word starts with `#` is a comment.
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
            \toption f 'quoted'#glued
            \toption g#glued 'no value, so no option'
            """)
        let section = document.sections[0]
        XCTAssertEqual(section.line, 3)
        XCTAssertEqual(section.options.map { $0.name }, ["a", "b", "c", "d", "f"])
        XCTAssertEqual(value(document, "s", "a"), bytes("x"))
        XCTAssertEqual(value(document, "s", "b"), bytes("has # inside"))
        XCTAssertEqual(value(document, "s", "c"), bytes("also # inside"))
        XCTAssertEqual(value(document, "s", "d"), bytes("word"))
        XCTAssertEqual(value(document, "s", "f"), bytes("quoted"))
    }

    /// `;` after a quote or a space ends the statement (`next_arg` takes
    /// it for an empty argument) and the next one follows.
    func testSemicolonSeparatesStatements() {
        let document = parse("config t 's'; option a '1';option b 2 ;\t option c 3\nconfig t u ;")
        XCTAssertEqual(value(document, "s", "a"), bytes("1"))
        XCTAssertEqual(value(document, "s", "b"), bytes("2"))
        XCTAssertEqual(value(document, "s", "c"), bytes("3"))
        XCTAssertEqual(document.section(named: "s")?.option("c")?.line, 1)
        XCTAssertEqual(document.section(named: "u")?.line, 2)
        XCTAssertEqual(errors("config t s\n\toption a x ;; option b 2\n"),
                       ["/etc/config/fastpath:2: unknown keyword ';' (expected package, config, option or list)"])
    }

    /// The next statement is found with `strtok(" \t")`, which skips no
    /// other whitespace: after such a `;` the line end is a word, and no keyword.
    func testSemicolonMayNotEndALine() {
        XCTAssertEqual(errors("config t s\n\toption a 'x';\n"),
                       ["/etc/config/fastpath:2: a ';' must be followed by a statement, a space or a tab, not '\\x0a'"])
        XCTAssertEqual(errors("config t 's' ;\r\n"),
                       ["/etc/config/fastpath:1: a ';' must be followed by a statement, a space or a tab, not '\\x0d'"])
        XCTAssertEqual(errors("config t s\n\toption a 'x';\u{0B}option b y\n"),
                       ["/etc/config/fastpath:2: a ';' must be followed by a statement, a space or a tab, not '\\x0b'"])
        XCTAssertEqual(errors("config t s ;;\n"),
                       ["/etc/config/fastpath:1: unknown keyword ';' (expected package, config, option or list)"])
        // At the end of the file, or after a plain word, it is fine.
        XCTAssertEqual(errors("config t s\n\toption a 'x';"), [])
        XCTAssertEqual(errors("config t s\n\toption a x;\n"), [])
    }

    /// A `;` that ends a plain word is overwritten by the word's NUL
    /// (`parse_str`), so `strtok` finds nothing after it: libuci drops the
    /// rest of the line without an error.
    func testSemicolonAfterPlainWordDropsTheRestOfTheLine() {
        let document = parse("config t s; option a 1\n\toption b 2;option c 3\n\toption d 4\n")
        XCTAssertEqual(document.section(named: "s")?.options.map { $0.name }, ["b", "d"])
        XCTAssertEqual(value(document, "s", "b"), bytes("2"))
    }

    // MARK: - Bytes

    /// libuci keeps bytes that are not UTF-8 as they are.
    func testValuesAreBytesNotText() {
        let document = parse(bytes("config t s\n\toption a '") + [0xFF, 0xFE, 0x80] + bytes("'\n\toption b x") + [0xA0, 0xC3] + bytes("\n\toption c 'caf\u{E9}'\n"))
        XCTAssertEqual(value(document, "s", "a"), [0xFF, 0xFE, 0x80])
        XCTAssertEqual(value(document, "s", "b"), [0x78, 0xA0, 0xC3])
        XCTAssertEqual(value(document, "s", "c"), [0x63, 0x61, 0x66, 0xC3, 0xA9])
    }

    /// Control bytes other than whitespace are value bytes.
    func testControlBytesInValues() {
        let document = parse("config t s\n\toption a x\u{01}\u{1B}\u{7F}y\n\toption b '\u{0B}\u{0C}'\n")
        XCTAssertEqual(value(document, "s", "a"), [0x78, 0x01, 0x1B, 0x7F, 0x79])
        XCTAssertEqual(value(document, "s", "b"), [0x0B, 0x0C])
    }

    /// `uci_getln` measures what `fgets` read with `strlen`: a NUL ends it,
    /// the rest of that read is dropped and the next line is joined on, with
    /// no line break (inside a quote too).
    func testNULByteDropsTheRestOfTheLineAndJoinsTheNext() {
        let joined = parse(bytes("config t s\n\toption a 'one") + [0] + bytes("two\n'\n\toption b 'x'\n"))
        XCTAssertEqual(value(joined, "s", "a"), bytes("one"))
        XCTAssertEqual(value(joined, "s", "b"), bytes("x"))
        XCTAssertEqual(joined.section(named: "s")?.option("b")?.line, 4)

        let merged = parse(bytes("config t s\n\toption a 'b\nc") + [0] + bytes("d\ne'\n"))
        XCTAssertEqual(value(merged, "s", "a"), bytes("b\nce"))

        // The joined line closes the quote; the one after `three` is never closed.
        XCTAssertEqual(errors(bytes("config t s\n\toption a 'one") + [0] + bytes("two'\n\toption b 'three'\n")),
                       ["/etc/config/fastpath:3: unterminated single quote"])
    }

    /// A line that starts with NUL reads as empty and is skipped.
    func testLineStartingWithNULIsSkipped() {
        let document = parse(bytes("config t s\n") + [0] + bytes("option a b\n\toption c d\n"))
        XCTAssertEqual(document.section(named: "s")?.options.map { $0.name }, ["c"])
        XCTAssertEqual(document.section(named: "s")?.option("c")?.line, 3)
    }

    /// `fgets` reads at most the buffer's free size (the buffer starts at
    /// 32 bytes and doubles): a NUL drops only the rest of that read, and
    /// the line goes on with the next read.
    func testNULDropsOnlyTheRestOfOneBufferRead() {
        // The first read takes 31 bytes: 11 + 5 x, NUL, 14 of the 30 y.
        let line = bytes("\toption a '") + Array(repeating: 0x78, count: 5) + [0]
            + Array(repeating: 0x79, count: 30) + bytes("z'\n")
        let document = parse(bytes("config t s\n") + line)
        XCTAssertEqual(value(document, "s", "a"), Array(repeating: 0x78, count: 5) + Array(repeating: 0x79, count: 16) + [0x7A])
    }

    // MARK: - Options and lists

    /// `uci_set` with an empty value does nothing while a file is read: an
    /// option without a value (or with `''`) is left out, an earlier value kept.
    func testOptionWithoutValueIsLeftOut() {
        let document = parse("config t s\n\toption a\n\toption b ''\n\toption c 'x'\n\toption c\n\toption c \"\"\n\toption d # none\n")
        XCTAssertEqual(document.section(named: "s")?.options.map { $0.name }, ["c"])
        XCTAssertEqual(value(document, "s", "c"), bytes("x"))
        XCTAssertEqual(document.section(named: "s")?.option("c")?.line, 4)
    }

    /// `uci_add_list` adds an empty value too, also when none is written.
    func testListsAccumulateEmptyValuesToo() {
        let document = parse("config t s\n\tlist l 'a'\n\toption o 'x'\n\tlist l 'b c'\n\tlist l ''\n\tlist l\n")
        let list = document.section(named: "s")?.option("l")
        XCTAssertEqual(list, UCIOption(name: "l", values: [bytes("a"), bytes("b c"), [], []], isList: true, lines: [2, 4, 5, 6]))
        XCTAssertEqual(document.section(named: "s")?.options.map { $0.name }, ["l", "o"])
    }

    /// `uci_add_list` turns an `option` into a list where it stands.
    func testListAfterOptionBecomesListInPlace() {
        let document = parse("config t s\n\toption a 'first'\n\toption b 'x'\n\tlist a 'second'\n")
        let options = document.section(named: "s")?.options
        XCTAssertEqual(options?.map { $0.name }, ["a", "b"])
        XCTAssertEqual(options?.first, UCIOption(name: "a", values: [bytes("first"), bytes("second")], isList: true, lines: [2, 4]))
    }

    /// `uci_set` replaces an option (or a list) where it stands.
    func testLaterOptionReplacesInPlace() {
        let document = parse("config t s\n\toption a '1'\n\toption b '2'\n\toption a '3'\n\tlist c 'x'\n\toption d '4'\n\toption c 'y'\n")
        XCTAssertEqual(document.section(named: "s")?.options, [
            UCIOption(name: "a", values: [bytes("3")], isList: false, lines: [4]),
            UCIOption(name: "b", values: [bytes("2")], isList: false, lines: [3]),
            UCIOption(name: "c", values: [bytes("y")], isList: false, lines: [7]),
            UCIOption(name: "d", values: [bytes("4")], isList: false, lines: [6]),
        ])
    }

    // MARK: - Sections

    func testSectionTypesMayUsePunctuation() {
        // uci_validate_type allows any of '!'...'~'; names are stricter.
        let document = parse("config my-type.v2 name_1")
        XCTAssertEqual(document.sections.first?.type, "my-type.v2")
        XCTAssertEqual(document.sections.first?.name, "name_1")
    }

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
        XCTAssertEqual(document.section(type: "interface", index: 0)?.option("device")?.value, bytes("eth0"))
        XCTAssertEqual(document.section(type: "interface", index: 1)?.name, "lan")
        XCTAssertEqual(document.section(type: "interface", index: 2)?.option("device")?.value, bytes("eth2"))
        XCTAssertEqual(document.section(type: "interface", index: -1)?.option("device")?.value, bytes("eth2"))
        XCTAssertEqual(document.section(type: "interface", index: -3)?.option("device")?.value, bytes("eth0"))
        XCTAssertNil(document.section(type: "interface", index: 3))
        XCTAssertNil(document.section(type: "interface", index: -4))
        XCTAssertEqual(document.section(type: "globals", index: 0)?.line, 5)
        XCTAssertEqual(document.sections(ofType: "interface").count, 3)
    }

    /// A name declared again re-opens its section (`uci_set` on a section).
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
        XCTAssertEqual(lan?.option("mode")?.value, bytes("native"))
        XCTAssertEqual(lan?.option("mode")?.line, 7)
    }

    func testAnonymousSectionsNeverMerge() {
        let document = parse("config t\nconfig t\n")
        XCTAssertEqual(document.sections.count, 2)
    }

    /// `uci_fixup_section` names an anonymous section `cfgNNHHHH` (section
    /// count, djb2 hash of its type); a `config` line with that name
    /// re-opens it.
    func testAnonymousSectionAnswersToItsLibuciName() {
        // djb2("interface") & 0xffff == 0x6d96; the section is the second one.
        let document = parse("config t\nconfig interface\n\toption a 1\nconfig interface cfg026d96\n\toption b 2\nconfig interface cfg036d96\n")
        XCTAssertEqual(document.sections.map { $0.name }, [nil, nil, "cfg036d96"])
        XCTAssertEqual(document.sections[1].options.map { $0.name }, ["a", "b"])
        XCTAssertEqual(errors("config t\nconfig u cfg01b619\n"),
                       ["/etc/config/fastpath:2: section 'cfg01b619' is declared as 'u' here but as 't' at line 1"])
    }

    func testReopeningWithAnotherTypeIsAnError() {
        XCTAssertEqual(errors("config interface 'lan'\n\toption device 'x'\n\nconfig globals 'lan'\n"),
                       ["/etc/config/fastpath:4: section 'lan' is declared as 'globals' here but as 'interface' at line 1"])
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

    /// `assert_eol` in strict mode, libuci's default.
    func testTooManyArguments() {
        XCTAssertEqual(errors("config t s extra\n"),
                       ["/etc/config/fastpath:1: too many arguments for 'config': unexpected 'extra'"])
        XCTAssertEqual(errors("config t s\n\toption a 'x' 'y'\n"),
                       ["/etc/config/fastpath:2: too many arguments for 'option': unexpected 'y'"])
        XCTAssertEqual(errors("config t s\n\tlist a x y z\n"),
                       ["/etc/config/fastpath:2: too many arguments for 'list': unexpected 'y'"])
        // An empty word is an argument that is not there.
        XCTAssertEqual(errors("config t s ''\n\toption a 'x' ''\n"), [])
        // `;` where the name would be is an empty name, so `option` is one argument too many.
        XCTAssertEqual(errors("config t ;option a b\n"),
                       ["/etc/config/fastpath:1: too many arguments for 'config': unexpected 'option'"])
    }

    /// `uci_validate_str`, in the C locale: names are ASCII.
    func testInvalidNames() {
        XCTAssertEqual(errors("config interface 'wan-2'\n"),
                       ["/etc/config/fastpath:1: invalid section name 'wan-2': use only letters, digits and '_'"])
        XCTAssertEqual(errors("config interface 'a.b'\n").count, 1)
        XCTAssertEqual(errors("config 'bad type' s\n"),
                       ["/etc/config/fastpath:1: invalid section type 'bad type': use printable ASCII without spaces"])
        XCTAssertEqual(errors("config t s\n\toption 'log-level' 'x'\n"),
                       ["/etc/config/fastpath:2: invalid option name 'log-level': use only letters, digits and '_'"])
        XCTAssertEqual(errors("config t s\n\tlist 'a b' 'x'\n").count, 1)
        XCTAssertEqual(errors("config t 'caf\u{E9}'\n"),
                       ["/etc/config/fastpath:1: invalid section name 'caf\u{E9}': use only letters, digits and '_'"])
        XCTAssertEqual(errors(bytes("config t\n\toption a") + [0xFF] + bytes(" x\n")),
                       ["/etc/config/fastpath:2: invalid option name 'a\\xff': use only letters, digits and '_'"])
        XCTAssertEqual(errors("config 't\u{7F}' s\n"),
                       ["/etc/config/fastpath:1: invalid section type 't\\x7f': use printable ASCII without spaces"])
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
        XCTAssertEqual(result.diagnostics.map { $0.line }, [1, 2, 6, 7, 8, 9])
        XCTAssertEqual(result.document.sections.map { $0.name }, ["ok"])
        XCTAssertEqual(result.document.section(named: "ok")?.options.map { $0.name }, ["device"])
    }

    func testParseThrowsTheFirstError() {
        do throws(ConfigDiagnostic) {
            _ = try UCIParser.parse("config t s\n\toption\nbogus\n", file: "x.conf")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error, ConfigDiagnostic(file: "x.conf", line: 2, message: "'option' needs a name"))
            XCTAssertNil(error.sectionType)
            XCTAssertNil(error.option)
            XCTAssertEqual(error.description, "x.conf:2: 'option' needs a name")
        }
    }

    /// Diagnostics quote file bytes on one line: UTF-8 as it is, other
    /// bytes as `\xNN`, a backslash as `\\`.
    func testDiagnosticsShowBytesUnambiguously() {
        XCTAssertEqual(ByteText.shown(bytes("eth0")), "eth0")
        XCTAssertEqual(ByteText.shown(bytes("br-\u{E9}")), "br-\u{E9}")
        XCTAssertEqual(ByteText.shown(bytes("a\\b\n\t")), "a\\\\b\\x0a\\x09")
        XCTAssertEqual(ByteText.shown([0x61, 0xC3, 0xA9, 0xFF]), "a\\xc3\\xa9\\xff")
    }
}
