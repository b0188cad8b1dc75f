/// A parsed UCI file: what `uci show` would see, plus the line numbers needed
/// to point a person at the right place.
///
/// Sections keep file order. A named section declared twice is one section
/// (the second `config` line re-opens it, as libuci does) and keeps the
/// position and line of its first declaration. Types and names are ASCII
/// (libuci allows no other bytes in them); values are bytes.
public struct UCIDocument: Equatable {
    /// The file name used in diagnostics (not opened by the parser).
    public var file: String
    public var sections: [UCISection]

    public init(file: String, sections: [UCISection] = []) {
        self.file = file
        self.sections = sections
    }

    /// The section with this name (named sections only).
    public func section(named name: String) -> UCISection? {
        for section in sections where section.name == name {
            return section
        }
        return nil
    }

    /// All sections of one type, in file order.
    public func sections(ofType type: String) -> [UCISection] {
        var result: [UCISection] = []
        for section in sections where section.type == type {
            result.append(section)
        }
        return result
    }

    /// UCI's extended lookup `@type[index]`: the index counts every section
    /// of that type, named or not; a negative index counts from the end.
    public func section(type: String, index: Int) -> UCISection? {
        let matching = sections(ofType: type)
        let resolved = index < 0 ? matching.count + index : index
        guard resolved >= 0 && resolved < matching.count else { return nil }
        return matching[resolved]
    }

    /// How `uci show` names the section at `sections[position]`: its name, or
    /// `@type[N]` for an anonymous one.
    public func displayName(ofSectionAt position: Int) -> String {
        let section = sections[position]
        if let name = section.name { return name }
        var index = 0
        for earlier in sections[..<position] where earlier.type == section.type {
            index += 1
        }
        return "@\(section.type)[\(index)]"
    }
}

/// One `config TYPE ['NAME']` block.
public struct UCISection: Equatable {
    public var type: String
    /// nil for an anonymous section.
    public var name: String?
    /// Line of the (first) `config` statement.
    public var line: Int
    public var options: [UCIOption]

    public init(type: String, name: String?, line: Int, options: [UCIOption] = []) {
        self.type = type
        self.name = name
        self.line = line
        self.options = options
    }

    public var isAnonymous: Bool { name == nil }

    public func option(_ name: String) -> UCIOption? {
        for option in options where option.name == name {
            return option
        }
        return nil
    }
}

/// One option of a section: a single `option` value or the values of all
/// `list` statements with this name.
///
/// As in libuci, a later `option` replaces an earlier one (value and line)
/// where it stands, and a `list` after an `option` of the same name turns it
/// into a list, in place, that starts with the earlier value.
public struct UCIOption: Equatable {
    public var name: String
    /// Exactly one value for an `option`; one per `list` statement otherwise.
    /// The bytes of the file, quotes and escapes resolved; never a NUL.
    public var values: [[UInt8]]
    public var isList: Bool
    /// The statement line of each value, parallel to `values`.
    public var lines: [Int]

    public init(name: String, values: [[UInt8]], isList: Bool, lines: [Int]) {
        self.name = name
        self.values = values
        self.isList = isList
        self.lines = lines
    }

    /// The first (for an `option`, the only) statement line.
    public var line: Int { lines[0] }
    /// The single value of an `option`; the last value of a list.
    public var value: [UInt8] { values[values.count - 1] }
}
