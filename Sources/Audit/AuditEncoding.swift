import Crypto
import Foundation
import SealgateCore

/// The canonical encoding of audit records: sorted-key JSON without insignificant whitespace.
public enum AuditEncoding {
    /// The canonical bytes of a record.
    public static func canonical(_ record: AuditRecord) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(record)
    }

    /// `sha-256:<hex>` of text, for digests of scopes and chunk ids.
    public static func digest(_ text: String) -> String {
        "sha-256:" + Hex.encode(SHA256.hash(data: Data(text.utf8)))
    }

    /// The chain hash of an entry: SHA-256(previous hash ‖ canonical record).
    public static func chainHash(previous: Data, canonical: Data) -> Data {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: canonical)
        return Data(hasher.finalize())
    }
}

/// One line of the audit file.
public struct AuditFileEntry: Codable, Sendable {
    public var index: UInt64
    /// Hex chain hash of the previous entry (64 zeros for the first).
    public var prev: String
    public var record: AuditRecord
}
