import FastPathKernel

/// The interfaces whose clsact qdisc fastpath created, kept in the run
/// directory: `detach` removes those qdiscs and leaves anyone else's alone.
struct QdiscRegistry {
    let path: String

    func load() -> Set<UInt32> {
        guard let text = try? SmallFile.read(path) else { return [] }
        var result: Set<UInt32> = []
        for line in text.split(separator: "\n") {
            if let ifindex = UInt32(line) { result.insert(ifindex) }
        }
        return result
    }

    func save(_ ifindexes: Set<UInt32>) throws(FastPathError) {
        var text = ""
        for ifindex in ifindexes.sorted() { text += "\(ifindex)\n" }
        try SmallFile.write(path, text)
    }

    func add(_ ifindex: UInt32) throws(FastPathError) {
        var current = load()
        current.insert(ifindex)
        try save(current)
    }

    func remove(_ ifindex: UInt32) throws(FastPathError) {
        var current = load()
        guard current.remove(ifindex) != nil else { return }
        try save(current)
    }
}
