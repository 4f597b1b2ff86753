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
    /// The canonical bytes of a leaf (what the Merkle leaf hash covers): sorted-key JSON, written by ``JSONWriter``
    /// field by field — the bytes `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` produces for the same
    /// leaf (`AuditEncodingTests` compares them), without its cost on every request.
    public static func canonical(_ leaf: AuditLeaf) throws -> Data {
        let r = leaf.record
        var json = JSONWriter(capacity: 768)
        json.beginObject()
        json.key("index")
        json.integer(leaf.index)
        json.key("record")
        json.beginObject()
        // Members in byte order of their keys, as `.sortedKeys` orders them; nil fields are left out.
        json.member("attestationResultDigest", r.attestationResultDigest)
        json.member("attestationStatus", r.attestationStatus)
        json.member("chunkCount", r.chunkCount)
        json.member("chunkIDsDigest", r.chunkIDsDigest)
        json.member("dataClass", r.dataClass)
        json.member("embedderDigest", r.embedderDigest)
        json.member("keyIDs", r.keyIDs)
        json.member("kind", r.kind.rawValue)
        json.member("model", r.model)
        json.member("modelAttestation", r.modelAttestation)
        json.member("modelDigest", r.modelDigest)
        json.member("outcome", r.outcome.rawValue)
        json.member("policyDigest", r.policyDigest)
        json.member("principal", r.principal)
        json.member("questionDigest", r.questionDigest)
        json.member("reason", r.reason)
        json.member("redactions", r.redactions)
        json.member("referenceValueSet", r.referenceValueSet)
        json.member("requestID", r.requestID)
        json.member("rule", r.rule)
        json.member("scopeDigest", r.scopeDigest)
        json.member("tenant", r.tenant)
        json.member("time", r.time)
        json.endObject()
        json.endObject()
        return Data(json.bytes)
    }

    /// The number of stored properties ``canonical(_:)`` writes of an ``AuditRecord`` (a test checks it against the
    /// type, so a field added to the record without being added here fails the build's tests).
    public static let recordFieldCount = 23

    /// Splits the entries file into entries: each is a 4-byte big-endian length and that many bytes.
    /// Returns the entries and the length of the complete prefix (anything after it is a torn tail).
    public static func splitEntries(_ bytes: [UInt8]) -> (entries: [Data], completeLength: Int) {
        let (ranges, complete) = entryRanges(bytes)
        return (ranges.map { Data(bytes[$0]) }, complete)
    }

    /// The byte ranges of the entries in an entries file, and the length of the complete prefix.
    public static func entryRanges(_ bytes: [UInt8]) -> (ranges: [Range<Int>], completeLength: Int) {
        bytes.withUnsafeBytes { entryRanges($0) }
    }

    /// The byte ranges of the entries in an entries file held in a buffer, and the length of the complete prefix.
    static func entryRanges(_ bytes: UnsafeRawBufferPointer) -> (ranges: [Range<Int>], completeLength: Int) {
        var ranges: [Range<Int>] = []
        // Entries are about 150 bytes; reserving avoids regrowing the array while scanning.
        ranges.reserveCapacity(bytes.count / 128 + 1)
        var offset = 0
        while bytes.count - offset >= 4 {
            let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            guard length > 0, bytes.count - offset - 4 >= length else { break }
            ranges.append((offset + 4)..<(offset + 4 + length))
            offset += 4 + length
        }
        return (ranges, offset)
    }

    /// Whether the bytes start with `{"index":<index>,"record":`, as the canonical leaf at `index` does.
    static let leafHead = Array(#"{"index":"#.utf8)
    static let leafTail = Array(#","record":"#.utf8)

    static func hasLeafPrefix(_ bytes: UnsafeRawBufferPointer, index: Int) -> Bool {
        let head = leafHead
        let tail = leafTail
        var digitCount = 1
        var power = 10
        while index >= power, digitCount < 19 {
            digitCount += 1
            power *= 10
        }
        guard bytes.count >= head.count + digitCount + tail.count else { return false }
        var k = 0
        for byte in head {
            guard bytes[k] == byte else { return false }
            k += 1
        }
        var n = index
        for d in stride(from: digitCount - 1, through: 0, by: -1) {
            guard bytes[k + d] == UInt8(48 + n % 10) else { return false }
            n /= 10
        }
        k += digitCount
        for byte in tail {
            guard bytes[k] == byte else { return false }
            k += 1
        }
        return true
    }

    /// The framing of one entry in the entries file.
    static func frame(_ entry: Data) -> Data {
        let n = UInt32(entry.count)
        var out = Data([UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)])
        out.append(entry)
        return out
    }
}
