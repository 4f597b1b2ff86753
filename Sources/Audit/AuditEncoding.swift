import Crypto
import Foundation
import SealgateCore

/// One leaf of the audit log: the record and its position. The position inside the leaf lets a verifier name
/// exactly where a record was dropped or reordered.
public struct AuditLeaf: Codable, Sendable, Equatable {
    public var index: UInt64
    public var record: AuditRecord

    public init(index: UInt64, record: AuditRecord) {
        self.index = index
        self.record = record
    }
}

/// The canonical encoding of audit leaves: sorted-key JSON without insignificant whitespace or escaped slashes.
public enum AuditEncoding {
    /// The canonical bytes of a leaf (what the Merkle leaf hash covers).
    public static func canonical(_ leaf: AuditLeaf) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(leaf)
    }

    /// `sha-256:<hex>` of text, for digests of scopes and chunk ids.
    public static func digest(_ text: String) -> String {
        "sha-256:" + Hex.encode(SHA256.hash(data: Data(text.utf8)))
    }

    /// Splits the entries file into entries: each is a 4-byte big-endian length and that many bytes.
    /// Returns the entries and the length of the complete prefix (anything after it is a torn tail).
    public static func splitEntries(_ bytes: [UInt8]) -> (entries: [Data], completeLength: Int) {
        var entries: [Data] = []
        var offset = 0
        while bytes.count - offset >= 4 {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length > 0, bytes.count - offset - 4 >= length else { break }
            entries.append(Data(bytes[(offset + 4)..<(offset + 4 + length)]))
            offset += 4 + length
        }
        return (entries, offset)
    }

    /// The framing of one entry in the entries file.
    static func frame(_ entry: Data) -> Data {
        let n = UInt32(entry.count)
        var out = Data([UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)])
        out.append(entry)
        return out
    }
}
