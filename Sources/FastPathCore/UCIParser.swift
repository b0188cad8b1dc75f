/// Parses a UCI config file (`/etc/config/*`) as libuci's file parser
/// (`file.c`) does when `uci_load` reads it: the same files are accepted,
/// and values are the same bytes (no text decoding).
///
/// libuci reads the file with `fgets` into one growing buffer (32 bytes
/// at first, doubled as it fills) and parses that buffer in place. Its
/// rules, kept here:
/// - a statement starts with a keyword: the bytes up to the next space or
///   tab. Only those two end it, so `config\vt s` is one unknown word. The
///   keywords are `package`, `config`, `option`, `list`, or `p`, `c`, `o`,
///   `l`; a word starting with `#` makes the rest of the line a comment;
/// - arguments are separated by C whitespace (space, `\t`, `\n`, `\v`,
///   `\f`, `\r`). An argument is made of adjacent parts: plain bytes,
///   `'single quoted'` bytes (taken as they are) and `"double quoted"`
///   bytes; outside single quotes a backslash takes the next byte as it is,
///   and a backslash before the line end (`\n`, or `\r\n` at the very end)
///   joins the next line. A line joined that way that starts with
///   whitespace ends the argument;
/// - quoted bytes may span lines and keep the line ends, `\r` included;
/// - `#` outside quotes ends the statement, even mid-word (`a#b` is `a`);
/// - `;` ends a statement. After a quote or a space, only spaces and
///   tabs may come before the next statement: a `;` there that ends a line
///   is an error. When it ends a plain word (`c t s;o a b`), libuci
///   overwrites it and drops the rest of the line without an error;
/// - a NUL byte ends the bytes of one `fgets` read (as `strlen` does): the
///   rest of that read (to the line end, or to the buffer's size for a
///   longer line) is dropped and the next read is joined on;
/// - names are checked as `uci_validate_str` does: option and section
///   names `[A-Za-z0-9_]+`, package names also `-`, section types any of
///   `!`...`~`. Values may hold any byte but NUL.
///
/// The statements, as `uci_set` and `uci_add_list` apply them:
/// - `package NAME` is checked and otherwise ignored (a loaded file is one
///   package, named by its file);
/// - `config TYPE [NAME]`: an empty or missing name makes an anonymous
///   section. A name already used re-opens that section (an error if its
///   type differs); this includes the `cfgNNHHHH` name libuci gives an
///   anonymous section;
/// - `option NAME [VALUE]`: a missing or empty value does nothing;
///   otherwise it replaces the option's value (or list) in place;
/// - `list NAME [VALUE]` appends the value (an empty one too); an
///   `option` of that name becomes the list's first value, in place;
/// - more arguments than a statement takes are an error.
///
/// libuci stops at the first error. `parseCollecting` reports the others
/// too: after an error it goes on with the next line, as libuci does
/// without its strict flag, and drops the options of a bad `config` line.
public enum UCIParser {
    /// Parses `bytes`; the first problem is thrown. `file` only names the
    /// source in diagnostics.
    public static func parse(_ bytes: [UInt8], file: String) throws(ConfigDiagnostic) -> UCIDocument {
        let result = parseCollecting(bytes, file: file)
        if let first = result.diagnostics.first { throw first }
        return result.document
    }

    /// Parses the UTF-8 bytes of `text`.
    public static func parse(_ text: String, file: String) throws(ConfigDiagnostic) -> UCIDocument {
        try parse(Array(text.utf8), file: file)
    }

    /// Parses `bytes` and reports every syntax error, with the line it is on.
    public static func parseCollecting(_ bytes: [UInt8], file: String)
        -> (document: UCIDocument, diagnostics: [ConfigDiagnostic])
    {
        var parser = Parser(input: bytes, file: file)
        parser.run()
        return (parser.document, parser.diagnostics)
    }

    /// Parses the UTF-8 bytes of `text` and reports every syntax error.
    public static func parseCollecting(_ text: String, file: String)
        -> (document: UCIDocument, diagnostics: [ConfigDiagnostic])
    {
        parseCollecting(Array(text.utf8), file: file)
    }
}

private enum Byte {
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let singleQuote: UInt8 = 0x27
    static let doubleQuote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let hash: UInt8 = 0x23
    static let semicolon: UInt8 = 0x3B

    /// C `isspace` in the C locale: space and `\t` `\n` `\v` `\f` `\r`.
    static func isSpace(_ c: UInt8) -> Bool {
        c == space || (c >= 0x09 && c <= 0x0D)
    }
}

private enum Keyword: String, CaseIterable {
    case package, config, option, list

    /// The keyword `word` spells, in full or by its first letter.
    init?(_ word: [UInt8]) {
        for keyword in Keyword.allCases where keyword.rawValue.utf8.first == word.first {
            if word.count == 1 || keyword.rawValue.utf8.elementsEqual(word) {
                self = keyword
                return
            }
        }
        return nil
    }

    /// What a statement with this keyword lacks when it has no argument.
    var missing: String { self == .config ? "a section type" : "a name" }
}

/// One argument: its bytes and the line it starts on.
private struct Argument {
    var bytes: [UInt8]
    var line: Int
}

/// libuci's parse context: the file, its line buffer, the position in it,
/// and the document built so far.
private struct Parser {
    private let input: [UInt8]
    /// Index in `input` of the next byte to read, and its line.
    private var next = 0
    private var nextLine = 1
    /// The size of libuci's line buffer: where a read stops matters only
    /// for what a NUL byte drops.
    private var capacity = 32
    /// The buffer parsed in place: past its end, and at a 0 written into
    /// it, the text ends (a C string's NUL).
    private var buffer: [UInt8] = []
    /// The file line of each byte read into `buffer`.
    private var lines: [Int] = []
    private var pos = 0

    private(set) var document: UCIDocument
    private(set) var diagnostics: [ConfigDiagnostic] = []

    private enum Current {
        case none
        /// The last `config` statement was invalid: its options are dropped.
        case broken
        case section(Int)
    }
    private var current = Current.none
    /// The name libuci finds each section of `document` by.
    private var sectionKeys: [[UInt8]] = []

    init(input: [UInt8], file: String) {
        self.input = input
        document = UCIDocument(file: file)
    }

    mutating func run() {
        while next < input.count {
            pos = 0
            readLine(at: 0)
            guard byte(at: 0) != 0 else { continue }
            do {
                try statements()
            } catch {
                diagnostics.append(error)
            }
        }
    }

    // MARK: Reading

    private func byte(at index: Int) -> UInt8 {
        index < buffer.count ? buffer[index] : 0
    }

    private func line(at index: Int) -> Int {
        index < lines.count ? lines[index] : lines.last ?? nextLine
    }

    private mutating func terminate(at index: Int) {
        if index < buffer.count { buffer[index] = 0 }
    }

    /// libuci's `uci_getln`: reads the next line into the buffer at
    /// `offset`, through `fgets` calls of the buffer's free size.
    private mutating func readLine(at offset: Int) {
        if offset >= capacity - 1 { capacity *= 2 }
        buffer.removeSubrange(offset...)
        lines.removeSubrange(offset...)
        while next < input.count {
            let start = next
            let limit = start + capacity - buffer.count - 1
            var afterNUL = false
            while next < input.count && next < limit {
                let c = input[next]
                next += 1
                if c == 0 { afterNUL = true }
                if !afterNUL {
                    buffer.append(c)
                    lines.append(nextLine)
                }
                if c == Byte.newline {
                    nextLine += 1
                    break
                }
            }
            if input[start] == 0 || buffer.last == Byte.newline { return }
            capacity *= 2
        }
    }

    private func failure(_ line: Int, _ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(file: document.file, line: line, message: message)
    }

    // MARK: Statements

    /// The statements of one line (`uci_parse_line`).
    private mutating func statements() throws(ConfigDiagnostic) {
        skipSpace()
        while true {
            var start = pos
            while byte(at: start) == Byte.space || byte(at: start) == Byte.tab { start += 1 }
            guard byte(at: start) != 0, byte(at: start) != Byte.hash else { return }
            var wordEnd = start
            while byte(at: wordEnd) != 0 && byte(at: wordEnd) != Byte.space && byte(at: wordEnd) != Byte.tab { wordEnd += 1 }
            let word = Array(buffer[start..<wordEnd])
            let line = lines[start]
            guard let keyword = Keyword(word) else { throw unknown(word, line) }
            // As written: `o` or `option`.
            let written = String(decoding: word, as: UTF8.self)
            if keyword == .config { current = .broken }
            if keyword == .option || keyword == .list, case .none = current {
                throw failure(line, "'" + written + "' before the first 'config' section")
            }
            // Every statement needs one; a keyword that ends the file has none.
            var first = Argument(bytes: [], line: line)
            if wordEnd < buffer.count {
                buffer[wordEnd] = 0
                pos = wordEnd + 1
                first = try argument()
            }
            guard !first.bytes.isEmpty else { throw failure(line, "'" + written + "' needs " + keyword.missing) }
            switch keyword {
            case .package:
                guard UCIName.isValidPackage(first.bytes) else {
                    throw invalid("package name", first, "use letters, digits, '_' and '-'")
                }
                try end(written)
            case .config: try config(type: first, written, line)
            case .option, .list: try option(name: first, written, line, isList: keyword == .list)
            }
        }
    }

    /// The error for a word that is no keyword.
    private func unknown(_ word: [UInt8], _ line: Int) -> ConfigDiagnostic {
        // Only right after a `;`: elsewhere whitespace was skipped.
        if Byte.isSpace(word[0]) {
            return failure(line, "a ';' must be followed by a statement, a space or a tab, not '" + ByteText.shown([word[0]]) + "'")
        }
        let split = word.firstIndex(where: Byte.isSpace) ?? word.count
        // The word runs to the line end: its trailing whitespace is not shown.
        var end = word.count
        while Byte.isSpace(word[end - 1]) { end -= 1 }
        let head = Array(word[..<split])
        if let keyword = Keyword(head) {
            let written = String(decoding: head, as: UTF8.self)
            if end == split { return failure(line, "'" + written + "' needs " + keyword.missing) }
            return failure(line, "'" + written + "' must be followed by a space or tab, not '" + ByteText.shown([word[split]]) + "'")
        }
        return failure(line, "unknown keyword '" + ByteText.shown(Array(word[..<end])) + "' (expected package, config, option or list)")
    }

    private func invalid(_ what: String, _ argument: Argument, _ rule: String) -> ConfigDiagnostic {
        failure(argument.line, "invalid " + what + " '" + ByteText.shown(argument.bytes) + "': " + rule)
    }

    private mutating func config(type: Argument, _ keyword: String, _ line: Int) throws(ConfigDiagnostic) {
        guard UCIName.isValidType(type.bytes) else {
            throw invalid("section type", type, "use printable ASCII without spaces")
        }
        let name = try argument()
        if !name.bytes.isEmpty && !UCIName.isValidName(name.bytes) {
            throw invalid("section name", name, "use only letters, digits and '_'")
        }
        try end(keyword)

        let typeText = String(decoding: type.bytes, as: UTF8.self)
        if !name.bytes.isEmpty, let index = sectionKeys.firstIndex(of: name.bytes) {
            let existing = document.sections[index]
            guard existing.type == typeText else {
                throw failure(type.line, "section '" + ByteText.shown(name.bytes) + "' is declared as '" + typeText
                    + "' here but as '" + existing.type + "' at line " + String(existing.line))
            }
            current = .section(index)
            return
        }
        if name.bytes.isEmpty {
            // libuci's name for it: `cfg`, the number of sections with this
            // one (two hex digits at least), the low 16 bits of the djb2
            // hash of the type.
            var hash: UInt32 = 5381
            for c in type.bytes { hash = hash &* 33 &+ UInt32(c) }
            sectionKeys.append(Array("cfg".utf8) + ByteText.hex(sectionKeys.count + 1, digits: 2)
                + ByteText.hex(Int(hash & 0xFFFF), digits: 4))
            document.sections.append(UCISection(type: typeText, name: nil, line: line))
        } else {
            sectionKeys.append(name.bytes)
            document.sections.append(UCISection(type: typeText, name: String(decoding: name.bytes, as: UTF8.self), line: line))
        }
        current = .section(document.sections.count - 1)
    }

    private mutating func option(name: Argument, _ keyword: String, _ line: Int, isList: Bool) throws(ConfigDiagnostic) {
        guard UCIName.isValidName(name.bytes) else {
            throw invalid("option name", name, "use only letters, digits and '_'")
        }
        let value = try argument()
        try end(keyword)
        guard case .section(let index) = current else { return }

        let nameText = String(decoding: name.bytes, as: UTF8.self)
        var options = document.sections[index].options
        if let at = options.firstIndex(where: { $0.name == nameText }) {
            if isList {
                options[at].values.append(value.bytes)
                options[at].lines.append(line)
                options[at].isList = true
            } else if !value.bytes.isEmpty {
                options[at] = UCIOption(name: nameText, values: [value.bytes], isList: false, lines: [line])
            }
        } else if isList || !value.bytes.isEmpty {
            options.append(UCIOption(name: nameText, values: [value.bytes], isList: isList, lines: [line]))
        }
        document.sections[index].options = options
    }

    /// No argument may follow (`assert_eol`).
    private mutating func end(_ keyword: String) throws(ConfigDiagnostic) {
        let extra = try argument()
        if !extra.bytes.isEmpty {
            throw failure(extra.line, "too many arguments for '" + keyword + "': unexpected '" + ByteText.shown(extra.bytes) + "'")
        }
    }

    // MARK: Arguments

    private mutating func skipSpace() {
        while Byte.isSpace(byte(at: pos)) { pos += 1 }
    }

    /// The next argument (`next_arg`); empty when there is none. A `;`
    /// where an argument would start is an empty one.
    private mutating func argument() throws(ConfigDiagnostic) -> Argument {
        skipSpace()
        let start = pos
        let line = line(at: start)
        var target = start
        if byte(at: pos) == Byte.semicolon {
            buffer[pos] = 0
            pos += 1
        } else {
            try word(&target)
        }
        return Argument(bytes: Array(buffer[start..<target]), line: line)
    }

    /// Reads one argument's parts (`parse_str`), writing its bytes at
    /// `target`, which never passes `pos`.
    private mutating func word(_ target: inout Int) throws(ConfigDiagnostic) {
        var stepOver = true
        scan: repeat {
            switch byte(at: pos) {
            case Byte.singleQuote, Byte.doubleQuote:
                try quoted(&target)
            case Byte.hash:
                buffer[pos] = 0
                break scan
            case 0:
                break scan
            case Byte.semicolon:
                stepOver = false
                break scan
            case Byte.backslash:
                if !escape() { continue }
                copy(&target)
            default:
                copy(&target)
            }
        } while byte(at: pos) != 0 && !Byte.isSpace(byte(at: pos))
        if byte(at: pos) != 0 && stepOver { pos += 1 }
        terminate(at: target)
    }

    private mutating func copy(_ target: inout Int) {
        buffer[target] = buffer[pos]
        target += 1
        pos += 1
    }

    /// At a backslash: false when it joined the next line, true when the
    /// byte after it is to be taken as it is.
    private mutating func escape() -> Bool {
        pos += 1
        let c = byte(at: pos)
        if c == 0 || c == Byte.newline
            || (c == Byte.carriageReturn && byte(at: pos + 1) == Byte.newline && byte(at: pos + 2) == 0)
        {
            readLine(at: pos)
            return false
        }
        return true
    }

    /// Quoted bytes, the quote at `pos`; at the end of the buffer the next
    /// line is read on.
    private mutating func quoted(_ target: inout Int) throws(ConfigDiagnostic) {
        let quote = buffer[pos]
        let openLine = line(at: pos)
        pos += 1
        while true {
            let c = byte(at: pos)
            if c == quote {
                pos += 1
                return
            }
            if c == 0 {
                readLine(at: pos)
                if byte(at: pos) == 0 {
                    throw failure(openLine, quote == Byte.singleQuote ? "unterminated single quote" : "unterminated double quote")
                }
            } else if c != Byte.backslash || quote == Byte.singleQuote || escape() {
                copy(&target)
            }
        }
    }
}

/// The identifier rules of libuci's `uci_validate_str` (C locale).
enum UCIName {
    private static func isAlnumOrUnderscore(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
    }

    /// Section and option names: `[A-Za-z0-9_]+`.
    static func isValidName(_ bytes: [UInt8]) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy(isAlnumOrUnderscore)
    }

    /// Package names: `[A-Za-z0-9_-]+`.
    static func isValidPackage(_ bytes: [UInt8]) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { isAlnumOrUnderscore($0) || $0 == 0x2D }
    }

    /// Section types: printable ASCII without space (`!`...`~`).
    static func isValidType(_ bytes: [UInt8]) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { $0 >= 33 && $0 <= 126 }
    }
}
