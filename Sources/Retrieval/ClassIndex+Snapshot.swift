import SealgateCore

extension ClassIndex {
    static let snapshotMagic: [UInt8] = Array("SGCI".utf8)
    /// 2: format 1 followed by the width evidence (``WidthEvidence``); format 1 is still read (no evidence).
    static let snapshotFormat: UInt8 = 2

    /// The sub-index as bytes (plaintext: the caller seals them). Holds codes, graph links, document ids, chunk
    /// positions and version tags, and the counts behind `auto`'s measured width; full-precision vectors only when
    /// the index keeps them.
    public func encoded() -> [UInt8] {
        var out = SnapshotWriter()
        out.bytes(Self.snapshotMagic)
        out.u8(Self.snapshotFormat)
        out.u32(dimensions)
        out.u8(idf ? 1 : 0)
        out.u32(nodeCount)
        for node in 0..<nodeCount {
            out.string(documents[node].rawValue)
            out.u32(Int(UInt32(bitPattern: chunkIndexes[node])))
            out.u8(live[node] ? 1 : 0)
        }
        out.bytes(codes.map { UInt8(bitPattern: $0) })
        out.u8(options.keepsFullPrecision ? 1 : 0)
        if options.keepsFullPrecision { for x in full { out.u32(Int(x.bitPattern)) } }
        out.u64(levels.state)
        out.u32(versions.count)
        for (document, tag) in versions.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            out.string(document.rawValue)
            out.u32(tag.count)
            out.bytes(tag)
        }
        encodeGraph(into: &out)
        if let widthEvidence {
            out.u8(1)
            widthEvidence.encode(into: &out)
        } else {
            out.u8(0)
        }
        return out.data
    }

    private func encodeGraph(into out: inout SnapshotWriter) {
        guard let g = graph else {
            out.u8(0)
            return
        }
        out.u8(1)
        out.u32(g.m)
        out.u32(Int(UInt32(bitPattern: g.entry)))
        out.u32(g.maxLevel)
        out.bytes(g.levels)
        for link in g.base { out.u32(Int(UInt32(bitPattern: link))) }
        for links in g.upper { for link in links { out.u32(Int(UInt32(bitPattern: link))) } }
        if let weights = buildWeights {
            out.u8(1)
            for w in weights { out.u32(Int(w.bitPattern)) }
        } else {
            out.u8(0)
        }
    }

    /// Decodes ``encoded()`` for an index of `dimensions`, IDF weighting and `options`. A graph linked with another
    /// `m` than `options.m` is validated, then relinked with `options`.
    /// - Throws: ``SealgateError`` (`integrity_failure`) for bytes of another shape, format, size or option set,
    ///   or a link out of range: a snapshot is used whole or not at all.
    public static func decode(_ bytes: [UInt8], dimensions: Int, idfWeighting: Bool, options: IndexOptions) throws -> ClassIndex {
        var r = SnapshotReader(bytes)
        guard try r.bytes(4) == snapshotMagic else { throw SnapshotReader.malformed }
        let format = try r.u8()
        guard format == 1 || format == snapshotFormat, try r.u32() == dimensions, try r.u8() == (idfWeighting ? 1 : 0)
        else { throw SnapshotReader.malformed }
        var sub = ClassIndex(dimensions: dimensions, idfWeighting: idfWeighting, options: options)
        let n = try r.u32()
        guard n <= r.remaining / max(1, dimensions) else { throw SnapshotReader.malformed }
        for node in 0..<n {
            guard let document = DocumentID(try r.string()) else { throw SnapshotReader.malformed }
            let chunk = Int32(bitPattern: UInt32(try r.u32()))
            let isLive = try r.u8()
            guard isLive <= 1 else { throw SnapshotReader.malformed }
            sub.documents.append(document)
            sub.chunkIndexes.append(chunk)
            sub.live.append(isLive == 1)
            if isLive == 1 {
                sub.nodesOfDocument[document, default: []].append(Int32(node))
                sub.liveCount += 1
            }
        }
        sub.codes = try r.bytes(n * dimensions).map { Int8(bitPattern: $0) }
        for node in 0..<n {
            var norm: Float = 0
            for d in 0..<dimensions {
                let x = sub.codes[node * dimensions + d]
                norm += Float(x) * Float(x)
                if sub.live[node], x != 0 { sub.documentFrequency[d] += 1 }
            }
            sub.inverseNorms.append(norm > 0 ? 1 / norm.squareRoot() : 0)
        }
        let hasFull = try r.u8()
        guard hasFull == (options.keepsFullPrecision ? 1 : 0) else { throw SnapshotReader.malformed }
        if hasFull == 1 {
            for _ in 0..<(n * dimensions) { sub.full.append(Float(bitPattern: UInt32(try r.u32()))) }
        }
        sub.levels = LevelGenerator(state: try r.u64())
        for _ in 0..<(try r.u32()) {
            guard let document = DocumentID(try r.string()) else { throw SnapshotReader.malformed }
            sub.versions[document] = try r.bytes(try r.u32())
        }
        switch try r.u8() {
        case 0: break
        case 1:
            var g = HNSWGraph(m: try r.u32())
            guard (4...64).contains(g.m), n * g.m0 <= r.remaining / 4 else { throw SnapshotReader.malformed }
            g.entry = Int32(bitPattern: UInt32(try r.u32()))
            g.maxLevel = try r.u32()
            g.levels = try r.bytes(n)
            guard g.maxLevel <= 16, (n == 0 && g.entry == -1) || (0..<Int32(n)).contains(g.entry),
                g.levels.allSatisfy({ $0 <= 16 }), n == 0 || Int(g.levels[Int(max(0, g.entry))]) == g.maxLevel
            else { throw SnapshotReader.malformed }
            func link() throws -> Int32 {
                let value = Int32(bitPattern: UInt32(try r.u32()))
                guard value == -1 || (0..<Int32(n)).contains(value) else { throw SnapshotReader.malformed }
                return value
            }
            g.base = try (0..<(n * g.m0)).map { _ in try link() }
            g.upper = try g.levels.map { level in try (0..<(Int(level) * g.m)).map { _ in try link() } }
            // A link at level l names a node present at level l (linking a new node reads its neighbour's list there),
            // and the entry sits on the highest level.
            guard n == 0 || Int(g.levels.max() ?? 0) == g.maxLevel else { throw SnapshotReader.malformed }
            for links in g.upper {
                for (slot, neighbour) in links.enumerated() where neighbour >= 0 {
                    guard Int(g.levels[Int(neighbour)]) > slot / g.m else { throw SnapshotReader.malformed }
                }
            }
            sub.graph = g
            if try r.u8() == 1 {
                sub.buildWeights = try (0..<dimensions).map { _ in Float(bitPattern: UInt32(try r.u32())) }
            }
        default: throw SnapshotReader.malformed
        }
        if format >= 2 {
            switch try r.u8() {
            case 0: break
            case 1: sub.widthEvidence = try WidthEvidence.decode(from: &r)
            default: throw SnapshotReader.malformed
            }
        }
        guard r.remaining == 0 else { throw SnapshotReader.malformed }
        if let g = sub.graph, g.m != sub.options.m {
            // Linked under other graph options (an older release's defaults): the codes are good, the graph is
            // relinked here rather than every embedding decrypted again.
            sub.graph = nil
            sub.buildWeights = nil
            sub.buildGraph()
            sub.relinkedAtLoad = true
            // Measured on the old graph: the new one is measured afresh.
            sub.widthEvidence = nil
        } else if sub.idf, sub.graph != nil {
            sub.buildColumns()
        }
        // Already sealed with this sub-index: not reported as worth sealing again until it changes.
        if let width = sub.widthEvidence?.width { sub.reportedWidth = (width, .now) }
        return sub
    }
}

/// Little-endian writer of snapshot bytes.
struct SnapshotWriter {
    var data: [UInt8] = []
    mutating func u8(_ v: UInt8) { data.append(v) }
    mutating func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { data.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func bytes(_ v: [UInt8]) { data.append(contentsOf: v) }
    mutating func string(_ s: String) {
        u32(s.utf8.count)
        data.append(contentsOf: s.utf8)
    }
}

/// Bounds-checked reader of snapshot bytes.
struct SnapshotReader {
    static let malformed = SealgateError(.integrityFailure, "index snapshot is malformed")
    let data: [UInt8]
    var offset = 0

    init(_ data: [UInt8]) { self.data = data }

    var remaining: Int { data.count - offset }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= remaining else { throw Self.malformed }
        defer { offset += count }
        return Array(data[offset..<(offset + count)])
    }

    mutating func u8() throws -> UInt8 { try bytes(1)[0] }

    mutating func u32() throws -> Int {
        let b = try bytes(4)
        return Int(UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24)
    }

    mutating func u64() throws -> UInt64 {
        let b = try bytes(8)
        return b.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    mutating func string() throws -> String {
        let count = try u32()
        guard count <= 4096 else { throw Self.malformed }
        return String(decoding: try bytes(count), as: UTF8.self)
    }
}
