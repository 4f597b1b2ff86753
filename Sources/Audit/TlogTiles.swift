import Foundation

/// The C2SP tlog-tiles layout: hash tiles and entry bundles of 256, addressed by paths such as
/// `tile/0/x001/234` (level 0, index 1234) and `tile/entries/000.p/17` (a partial bundle of 17 entries).
public enum TlogTiles {
    /// Hashes (or entries) per full tile.
    public static let width = 256

    /// Encodes a tile index as path elements: groups of three digits, all but the last prefixed with `x`.
    public static func encodeIndex(_ n: Int) -> String {
        var groups: [String] = []
        var rest = n
        repeat {
            groups.insert(String(format: "%03d", rest % 1000), at: 0)
            rest /= 1000
        } while rest > 0
        return groups.enumerated().map { $0.offset < groups.count - 1 ? "x" + $0.element : $0.element }.joined(separator: "/")
    }

    /// A parsed tile path (relative to the `tile/` prefix).
    public struct Path: Equatable, Sendable {
        /// `nil` for entry bundles.
        public let level: Int?
        public let index: Int
        /// The width: 256 for a full tile, 1–255 for a partial one.
        public let width: Int

        public init(level: Int?, index: Int, width: Int) {
            self.level = level
            self.index = index
            self.width = width
        }
    }

    /// Parses `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`.
    public static func parse(_ path: String) -> Path? {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        let levelPart = parts.removeFirst()
        let level: Int?
        if levelPart == "entries" {
            level = nil
        } else {
            guard let l = Int(levelPart), l >= 0, l <= 63, String(l) == levelPart else { return nil }
            level = l
        }
        var width = Self.width
        if parts.count >= 2, parts[parts.count - 2].hasSuffix(".p") {
            guard let w = Int(parts[parts.count - 1]), w >= 1, w < Self.width, String(w) == parts[parts.count - 1] else { return nil }
            width = w
            parts.removeLast()
            parts[parts.count - 1] = String(parts[parts.count - 1].dropLast(2))
        }
        var index = 0
        for (i, part) in parts.enumerated() {
            let last = i == parts.count - 1
            let digits = last ? part : (part.hasPrefix("x") ? String(part.dropFirst()) : "")
            guard digits.count == 3, digits.allSatisfy(\.isASCII), let value = Int(digits), value >= 0 else { return nil }
            // Seven or more groups pass Int.max: refused, never trapped (a tile request once crashed the gateway).
            let (scaled, over) = index.multipliedReportingOverflow(by: 1000)
            let (next, carry) = scaled.addingReportingOverflow(value)
            guard !over, !carry else { return nil }
            index = next
        }
        guard encodeIndex(index) == parts.joined(separator: "/") else { return nil }
        return Path(level: level, index: index, width: width)
    }

    /// Hash tile `index` at `level`: the hashes of the complete subtrees of height 8·level numbered
    /// `index·256 ..< index·256 + width`, concatenated.
    /// - Throws: ``AuditError`` `bad_request` when the tree does not have them yet.
    public static func hashTile(tree: MerkleTree, level: Int, index: Int, width: Int) throws -> Data {
        try hashTile(treeSize: tree.size, level: level, index: index, width: width) { height, start, count in
            (start..<(start + count)).reduce(into: Data(capacity: count * 32)) { $0.append(tree.completeSubtree(height: height, index: $1) ?? Data()) }
        }
    }

    /// Hash tile `index` at `level` of a tree of `treeSize` leaves, whose `read(height, start, count)` returns
    /// `count` complete-subtree hashes of `height` from `start`, concatenated.
    static func hashTile(
        treeSize: Int, level: Int, index: Int, width: Int, read: (_ height: Int, _ start: Int, _ count: Int) throws -> Data
    ) throws -> Data {
        let height = 8 * level
        guard level >= 0, height < Int.bitWidth - 1, index >= 0, width >= 0, index <= (Int.max - width) / Self.width,
            index * Self.width + width <= treeSize >> height
        else { throw AuditError(.badRequest, "tile \(level)/\(index) of width \(width) is beyond the log") }
        return try read(height, index * Self.width, width)
    }

    /// Entry bundle `index`: entries `index·256 ..< index·256 + width`, each prefixed by its 2-byte big-endian length.
    public static func entryBundle(entries: [Data], index: Int, width: Int) throws -> Data {
        let start = try bundleStart(index: index, width: width, available: entries.count)
        return bundle(entries[start..<(start + width)])
    }

    /// The first entry of bundle `index` of `width` entries.
    /// - Throws: ``AuditError`` `bad_request` when the log has fewer than `available` entries.
    static func bundleStart(index: Int, width: Int, available: Int) throws -> Int {
        guard index >= 0, width >= 0, index <= (Int.max - width) / Self.width, index * Self.width + width <= available else {
            throw AuditError(.badRequest, "entry bundle \(index) of width \(width) is beyond the log")
        }
        return index * Self.width
    }

    /// The bundle encoding of `entries`: each prefixed by its 2-byte big-endian length.
    static func bundle(_ entries: some Sequence<Data>) -> Data {
        var out = Data()
        for entry in entries {
            out.append(UInt8(entry.count >> 8))
            out.append(UInt8(entry.count & 0xff))
            out.append(entry)
        }
        return out
    }

    /// Splits an entry bundle back into entries.
    /// - Throws: ``AuditError`` `audit_corrupt` when the framing is broken.
    public static func parseBundle(_ data: Data) throws -> [Data] {
        let bytes = [UInt8](data)
        var out: [Data] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 2 else { throw AuditError(.corrupt, "entry bundle is truncated") }
            let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            guard bytes.count - offset - 2 >= length else { throw AuditError(.corrupt, "entry bundle is truncated") }
            out.append(Data(bytes[(offset + 2)..<(offset + 2 + length)]))
            offset += 2 + length
        }
        return out
    }
}
