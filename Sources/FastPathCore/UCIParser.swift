/// Parses UCI config text (`/etc/config/*`) the way libuci's file parser does.
///
/// Syntax, following libuci `file.c`:
/// - statements `package NAME`, `config TYPE ['NAME']`, `option NAME VALUE`,
///   `list NAME VALUE`; the keywords may be shortened to `p`, `c`, `o`, `l`;
/// - one statement per line, or several separated by `;`;
/// - a token is made of adjacent parts, like a shell word: unquoted text,
///   `'single quoted'` (taken literally) and `"double quoted"` text; a
///   backslash outside single quotes takes the next character literally
///   (`\n` is `n`), and a backslash at the end of a line joins the next line;
/// - quoted text may span lines (the newline is part of the value);
/// - `#` outside quotes starts a comment that runs to the end of the line,
///   also in the middle of an unquoted word (`a#b` is `a`), as in libuci;
/// - CRLF line ends are accepted.
///
/// Semantics, also as libuci: a section name declared again re-opens that
/// section; an empty `option` value (`option x ''`) is ignored; an empty
/// section name (`config t ''`) means anonymous.
///
/// Stricter than libuci: `option NAME` without any value is an error.
public enum UCIParser {
    /// Parses `text`; the first problem is thrown. `file` only names the
    /// source in diagnostics.
    public static func parse(_ text: String, file: String) throws(ConfigDiagnostic) -> UCIDocument {
        let result = parseCollecting(text, file: file)
        if let first = result.diagnostics.first { throw first }
        return result.document
    }

    /// Parses `text` and reports every syntax error: a statement with an
    /// error is skipped (after a bad `config` line, its options are skipped
    /// too) and parsing goes on with the next statement.
    public static func parseCollecting(_ text: String, file: String)
        -> (document: UCIDocument, diagnostics: [ConfigDiagnostic])
    {
        var parser = Parser(text: text, file: file)
        parser.run()
        return (parser.document, parser.diagnostics)
    }
}

// MARK: - Lexer

/// One word of a statement, quotes and escapes resolved.
private struct Token {
    var text: String
    var line: Int
    /// No quotes or backslashes: only such a word can be a keyword.
    var isPlain: Bool
}

private enum Byte {
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let verticalTab: UInt8 = 0x0B
    static let formFeed: UInt8 = 0x0C
    static let singleQuote: UInt8 = 0x27
    static let doubleQuote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let hash: UInt8 = 0x23
    static let semicolon: UInt8 = 0x3B

    /// isspace() without the newline, which ends a statement.
    static func isBlank(_ c: UInt8) -> Bool {
        c == space || c == tab || c == carriageReturn || c == verticalTab || c == formFeed
    }
}

private struct Lexer {
    private var bytes: [UInt8]
    private var pos = 0
    private(set) var line = 1

    init(text: String) {
        // Drop the CR of every CRLF so quoted values do not keep it.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var previousCR = false
        for c in text.utf8 {
            if previousCR && c != Byte.newline { bytes.append(Byte.carriageReturn) }
            previousCR = c == Byte.carriageReturn
            if !previousCR { bytes.append(c) }
        }
        if previousCR { bytes.append(Byte.carriageReturn) }
        self.bytes = bytes
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        pos + offset < bytes.count ? bytes[pos + offset] : nil
    }

    /// The next statement's words, `nil` at the end of the text. An empty
    /// statement (blank line, comment, stray `;`) is never returned.
    mutating func nextStatement() -> Result<[Token], LexError>? {
        var tokens: [Token] = []
        while let c = peek() {
            if Byte.isBlank(c) {
                pos += 1
            } else if c == Byte.newline {
                pos += 1
                line += 1
                if !tokens.isEmpty { return .success(tokens) }
            } else if c == Byte.semicolon {
                pos += 1
                if !tokens.isEmpty { return .success(tokens) }
            } else if c == Byte.hash {
                while let d = peek(), d != Byte.newline { pos += 1 }
            } else if c == Byte.backslash && peek(1) == Byte.newline {
                pos += 2  // line continuation between words
                line += 1
            } else {
                switch nextToken() {
                case .success(let token): tokens.append(token)
                case .failure(let error): return .failure(error)
                }
            }
        }
        return tokens.isEmpty ? nil : .success(tokens)
    }

    /// Reads one word starting at a non-blank character.
    private mutating func nextToken() -> Result<Token, LexError> {
        let startLine = line
        var text: [UInt8] = []
        var isPlain = true
        while let c = peek() {
            if Byte.isBlank(c) || c == Byte.newline || c == Byte.semicolon || c == Byte.hash {
                break
            }
            switch c {
            case Byte.singleQuote:
                isPlain = false
                let openLine = line
                pos += 1
                var closed = false
                while let d = peek() {
                    pos += 1
                    if d == Byte.singleQuote { closed = true; break }
                    if d == Byte.newline { line += 1 }
                    text.append(d)
                }
                if !closed { return .failure(LexError(line: openLine, message: "unterminated single quote")) }
            case Byte.doubleQuote:
                isPlain = false
                let openLine = line
                pos += 1
                var closed = false
                while let d = peek() {
                    if d == Byte.doubleQuote { pos += 1; closed = true; break }
                    if d == Byte.backslash {
                        appendEscaped(into: &text)
                        continue
                    }
                    if d == Byte.newline { line += 1 }
                    text.append(d)
                    pos += 1
                }
                if !closed { return .failure(LexError(line: openLine, message: "unterminated double quote")) }
            case Byte.backslash:
                isPlain = false
                appendEscaped(into: &text)
            default:
                text.append(c)
                pos += 1
            }
        }
        return .success(Token(text: String(decoding: text, as: UTF8.self), line: startLine, isPlain: isPlain))
    }

    /// At a backslash: a backslash-newline joins lines, any other escaped
    /// character is taken literally, a backslash at the very end is dropped.
    private mutating func appendEscaped(into text: inout [UInt8]) {
        pos += 1
        guard let next = peek() else { return }
        pos += 1
        if next == Byte.newline {
            line += 1
        } else {
            text.append(next)
        }
    }
}

private struct LexError: Error {
    var line: Int
    var message: String
}

// MARK: - Statements

private struct Parser {
    private var lexer: Lexer
    private(set) var document: UCIDocument
    private(set) var diagnostics: [ConfigDiagnostic] = []

    private enum Current {
        case none
        /// The last `config` statement was invalid: drop its options quietly.
        case broken
        case section(Int)
    }
    private var current = Current.none

    init(text: String, file: String) {
        lexer = Lexer(text: text)
        document = UCIDocument(file: file)
    }

    mutating func run() {
        while let statement = lexer.nextStatement() {
            switch statement {
            case .success(let tokens):
                handle(tokens)
            case .failure(let error):
                report(error.line, error.message)
            }
        }
    }

    private mutating func report(_ line: Int, _ message: String) {
        diagnostics.append(ConfigDiagnostic(file: document.file, line: line, message: message))
    }

    private mutating func handle(_ tokens: [Token]) {
        let keyword = tokens[0]
        let word = keyword.isPlain ? keyword.text : ""
        switch word {
        case "package", "p": handlePackage(tokens)
        case "config", "c": handleConfig(tokens)
        case "option", "o": handleOption(tokens, isList: false)
        case "list", "l": handleOption(tokens, isList: true)
        default:
            // The current section stays open: the next options likely belong to it.
            report(keyword.line, "unknown keyword '\(keyword.text)' (expected package, config, option or list)")
        }
    }

    /// The argument at `index`, counting an empty word as absent (libuci does).
    private func argument(_ tokens: [Token], _ index: Int) -> Token? {
        index < tokens.count && !tokens[index].text.isEmpty ? tokens[index] : nil
    }

    /// Reports the first non-empty word after `count` arguments.
    private mutating func checkNoExtra(_ tokens: [Token], after count: Int) -> Bool {
        var index = count + 1
        while index < tokens.count {
            if let extra = argument(tokens, index) {
                report(extra.line, "too many arguments for '\(tokens[0].text)': unexpected '\(extra.text)'")
                return false
            }
            index += 1
        }
        return true
    }

    private mutating func handlePackage(_ tokens: [Token]) {
        guard let name = argument(tokens, 1) else {
            report(tokens[0].line, "'package' needs a name")
            return
        }
        guard UCIName.isValidPackage(name.text) else {
            report(name.line, "invalid package name '\(name.text)': use letters, digits, '_' and '-'")
            return
        }
        guard checkNoExtra(tokens, after: 1) else { return }
        document.package = name.text
    }

    private mutating func handleConfig(_ tokens: [Token]) {
        current = .broken
        guard let type = argument(tokens, 1) else {
            report(tokens[0].line, "'config' needs a section type")
            return
        }
        guard UCIName.isValidType(type.text) else {
            report(type.line, "invalid section type '\(type.text)': use printable ASCII without spaces")
            return
        }
        let name = argument(tokens, 2)
        if let name = name, !UCIName.isValidName(name.text) {
            report(name.line, "invalid section name '\(name.text)': use only letters, digits and '_'")
            return
        }
        guard checkNoExtra(tokens, after: 2) else { return }

        if let name = name {
            for (index, existing) in document.sections.enumerated() where existing.name == name.text {
                guard existing.type == type.text else {
                    report(type.line, "section '\(name.text)' is declared as '\(type.text)' here but as '\(existing.type)' at line \(existing.line)")
                    return
                }
                current = .section(index)  // re-open: merge into the first declaration
                return
            }
        }
        document.sections.append(UCISection(type: type.text, name: name?.text, line: tokens[0].line))
        current = .section(document.sections.count - 1)
    }

    private mutating func handleOption(_ tokens: [Token], isList: Bool) {
        let keyword = tokens[0]
        let index: Int
        switch current {
        case .none:
            report(keyword.line, "'\(keyword.text)' before the first 'config' section")
            return
        case .broken:
            return
        case .section(let i):
            index = i
        }
        guard let name = argument(tokens, 1) else {
            report(keyword.line, "'\(keyword.text)' needs a name and a value")
            return
        }
        guard UCIName.isValidName(name.text) else {
            report(name.line, "invalid option name '\(name.text)': use only letters, digits and '_'")
            return
        }
        guard tokens.count > 2 else {
            report(keyword.line, "'\(keyword.text) \(name.text)' needs a value")
            return
        }
        guard checkNoExtra(tokens, after: 2) else { return }

        let value = tokens[2].text
        let line = keyword.line
        var options = document.sections[index].options
        let existing = options.firstIndex { $0.name == name.text }
        if isList {
            if let at = existing {
                var option = options[at]
                option.values.append(value)
                option.lines.append(line)
                if !option.isList {
                    // libuci turns the string into a new list at the end.
                    option.isList = true
                    options.remove(at: at)
                    options.append(option)
                } else {
                    options[at] = option
                }
            } else {
                options.append(UCIOption(name: name.text, values: [value], isList: true, lines: [line]))
            }
        } else {
            // uci_set with an empty value does nothing while parsing a file.
            guard !value.isEmpty else { return }
            let option = UCIOption(name: name.text, values: [value], isList: false, lines: [line])
            if let at = existing {
                if !options[at].isList && options[at].value == value {
                    options[at] = option  // same value: libuci keeps the position
                } else {
                    options.remove(at: at)
                    options.append(option)
                }
            } else {
                options.append(option)
            }
        }
        document.sections[index].options = options
    }
}

/// The identifier rules of libuci's `uci_validate_str`.
enum UCIName {
    private static func isAlnumOrUnderscore(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
    }

    /// Section and option names: `[A-Za-z0-9_]+`.
    static func isValidName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isAlnumOrUnderscore)
    }

    /// Package names: `[A-Za-z0-9_-]+`.
    static func isValidPackage(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { isAlnumOrUnderscore($0) || $0 == 0x2D }
    }

    /// Section types: printable ASCII without space (libuci allows any of `!`...`~`).
    static func isValidType(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 33 && $0 <= 126 }
    }
}
