import Foundation
import RawStructuredFieldValues

/// What every answer carries in its `Sealgate-Receipt` field: which log, the index and leaf hash of the answer's
/// audit record, and the request id that record names.
///
/// The field is an RFC 8941 dictionary: `log="<origin>", index=<n>, leaf=:<base64 SHA-256 leaf hash>:,
/// request="<id>"`, written directly (byte for byte what swift-http-structured-headers serializes) and read with
/// that library. The proof that the record is in the log is fetched later (`GET /v1/receipts/{index}`), so a
/// receipt adds no work on the request path but reading one stored hash.
public struct Receipt: Sendable, Equatable {
    /// The log's origin (its checkpoint's first line).
    public let origin: String
    /// The record's index in the log.
    public let index: UInt64
    /// The RFC 6962 leaf hash of the record's canonical bytes.
    public let leafHash: Data
    /// The request id the record carries.
    public let requestID: String
    /// The `Sealgate-Receipt` field value: the RFC 8941 serialization of the four members, in this order.
    public let headerValue: String

    /// The largest index an RFC 8941 integer holds (15 digits).
    public static let maxIndex: UInt64 = 999_999_999_999_999

    /// Creates a receipt.
    /// - Throws: ``AuditError`` `bad_request` when a member cannot be an RFC 8941 value: an origin or request id
    ///   with characters outside printable ASCII, an index above ``maxIndex``, a leaf hash that is not 32 bytes.
    public init(origin: String, index: UInt64, leafHash: Data, requestID: String) throws {
        guard !origin.isEmpty else { throw AuditError(.badRequest, "a receipt's log origin is empty") }
        guard leafHash.count == 32 else { throw AuditError(.badRequest, "a receipt's leaf must be a 32-byte SHA-256 hash") }
        guard index <= Self.maxIndex, let integer = Int64(exactly: index) else {
            throw AuditError(.badRequest, "a receipt's index must be at most \(Self.maxIndex) (an RFC 8941 integer)")
        }
        // Written directly (the members are fixed: two strings, an integer, a byte sequence, no parameters) rather
        // than through an `OrderedMap` and the library's serializer on every answer; the output is the RFC 8941
        // serialization byte for byte, which `init(header:)` re-checks with the library when a receipt is read.
        var value = "log="
        guard Self.appendString(origin, to: &value) else {
            throw AuditError(.badRequest, "a receipt's log origin and request id must be printable ASCII (RFC 8941 strings)")
        }
        value += ", index=\(integer), leaf=:" + leafHash.base64EncodedString() + ":, request="
        guard Self.appendString(requestID, to: &value) else {
            throw AuditError(.badRequest, "a receipt's log origin and request id must be printable ASCII (RFC 8941 strings)")
        }
        headerValue = value
        self.origin = origin
        self.index = index
        self.leafHash = leafHash
        self.requestID = requestID
    }

    /// Parses a `Sealgate-Receipt` field value: an RFC 8941 dictionary with `log` (a string), `index` (a
    /// non-negative integer), `leaf` (a byte sequence of 32 bytes) and `request` (a string), in any order; unknown
    /// members and parameters are ignored.
    ///
    /// The value must be the canonical serialization of what it holds (leading and trailing spaces aside), which
    /// is what the gateway sends. RFC 8941 lets a dictionary repeat a key, the last one winning; a receipt that
    /// repeats one is ambiguous about the record it names, and is refused rather than read either way.
    /// - Throws: ``AuditError`` `bad_request` naming what is wrong: not a dictionary (with the RFC 8941 rule that
    ///   failed), a missing member, a member of the wrong type, a negative index, a leaf that is not base64 of 32
    ///   bytes, a repeated key or a non-canonical form.
    public init(header: String) throws {
        let members: OrderedMap<String, ItemOrInnerList>
        do {
            var parser = StructuredFieldValueParser(Array(header.utf8))
            members = try parser.parseDictionaryFieldValue()
        } catch {
            throw AuditError(.badRequest, "the receipt is not an RFC 8941 dictionary: \(Self.explain(error))")
        }
        let origin = try Self.value(members, "log", "a string", Self.string)
        let integer = try Self.value(members, "index", "an integer") { item -> Int64? in
            guard case .integer(let number) = item else { return nil }
            return number
        }
        let leaf = try Self.value(members, "leaf", "a byte sequence (:base64:)") { item -> String? in
            guard case .undecodedByteSequence(let base64) = item else { return nil }
            return base64
        }
        let request = try Self.value(members, "request", "a string", Self.string)
        guard let index = UInt64(exactly: integer) else { throw AuditError(.badRequest, "the receipt's index \(integer) is negative") }
        guard let leafHash = Data(base64Encoded: leaf), leafHash.base64EncodedString() == leaf else {
            throw AuditError(.badRequest, "the receipt's leaf is not canonical base64")
        }
        var serializer = StructuredFieldValueSerializer()
        let trimmed = Array(header.trimmingCharacters(in: CharacterSet(charactersIn: " ")).utf8)
        guard let canonical = try? serializer.writeDictionaryFieldValue(members), canonical == trimmed else {
            throw AuditError(
                .badRequest,
                "the receipt is not in the form the gateway sends: a member appears twice, or the value was re-spaced or re-encoded")
        }
        try self.init(origin: origin, index: index, leafHash: leafHash, requestID: request)
    }

    /// Appends `text` as an RFC 8941 sf-string (quoted, `"` and `\\` escaped); `false` (nothing usable appended) if a
    /// character is outside printable ASCII, which the format cannot carry.
    private static func appendString(_ text: String, to out: inout String) -> Bool {
        var bytes: [UInt8] = [0x22]
        bytes.reserveCapacity(text.utf8.count + 2)
        for byte in text.utf8 {
            guard byte >= 0x20, byte <= 0x7E else { return false }
            if byte == 0x22 || byte == 0x5C { bytes.append(0x5C) }
            bytes.append(byte)
        }
        bytes.append(0x22)
        out += String(decoding: bytes, as: UTF8.self)
        return true
    }

    private static func string(_ item: RFC9651BareItem) -> String? {
        guard case .string(let text) = item else { return nil }
        return text
    }

    private static func value<T>(
        _ members: OrderedMap<String, ItemOrInnerList>, _ key: String, _ type: String, _ extract: (RFC9651BareItem) -> T?
    ) throws -> T {
        guard let member = members[key] else { throw AuditError(.badRequest, "the receipt has no \(key) member") }
        guard case .item(let item) = member, let value = extract(item.rfc9651BareItem) else {
            throw AuditError(.badRequest, "the receipt's \(key) must be \(type)")
        }
        return value
    }

    /// The RFC 8941 rule a parse failure broke, in words.
    private static func explain(_ error: any Error) -> String {
        guard let error = error as? StructuredHeaderError else { return "\(error)" }
        return switch error {
        case .invalidByteSequence: "a byte sequence (:…:) holds a character that is not base64, or is not closed"
        case .invalidIntegerOrDecimal: "a number is malformed or has more than 15 digits"
        case .invalidString: "a string holds a character outside printable ASCII, a bad escape, or is not closed"
        case .invalidKey: "a key is not lowercase letters, digits, '_', '-', '.' or '*'"
        case .invalidDictionary, .invalidTrailingBytes, .invalidList: "members must be key=value, separated by commas"
        default: "\(error)"
        }
    }
}

/// A C2SP `tlog-proof@v1`: an entry's index, its inclusion proof and the (cosigned) checkpoint the proof leads to,
/// with the entry's canonical bytes as the `extra` line so the proof checks offline without the log.
public struct TlogProof: Sendable, Equatable {
    /// The format's first line.
    public static let header = "c2sp.org/tlog-proof@v1"
    /// Largest proof accepted (bytes): an entry, 63 hashes and a checkpoint with its cosignatures.
    public static let maxBytes = 256 << 10

    /// Opaque data: here the audit leaf's canonical bytes. Not authenticated by itself: its hash must be the leaf.
    public let extra: Data?
    public let index: UInt64
    /// Sibling hashes from the leaf up to the root's child (RFC 6962 §2.1.1).
    public let proof: [Data]
    /// The signed checkpoint note, verbatim, with its cosignatures.
    public let checkpoint: String

    /// Creates a proof.
    public init(extra: Data?, index: UInt64, proof: [Data], checkpoint: String) {
        self.extra = extra
        self.index = index
        self.proof = proof
        self.checkpoint = checkpoint
    }

    /// The text form.
    public var encoded: String {
        var out = Self.header + "\n"
        if let extra { out += "extra \(extra.base64EncodedString())\n" }
        out += "index \(index)\n"
        for hash in proof { out += hash.base64EncodedString() + "\n" }
        return out + "\n" + checkpoint
    }

    /// Parses the text form.
    /// - Throws: ``AuditError`` `bad_request` for anything that is not exactly the format.
    public init(parsing text: String) throws {
        guard text.utf8.count <= Self.maxBytes else { throw AuditError(.badRequest, "proof larger than \(Self.maxBytes) bytes") }
        guard let split = text.range(of: "\n\n") else { throw AuditError(.badRequest, "proof has no checkpoint") }
        var lines = text[..<split.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.first == Self.header else { throw AuditError(.badRequest, "not a \(Self.header)") }
        lines.removeFirst()
        var extra: Data?
        if let line = lines.first, line.hasPrefix("extra ") {
            guard let data = Data(base64Encoded: String(line.dropFirst(6))) else { throw AuditError(.badRequest, "extra is not base64") }
            extra = data
            lines.removeFirst()
        }
        guard let line = lines.first, line.hasPrefix("index "), let digits = Optional(line.dropFirst(6)), !digits.isEmpty,
            digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), digits == "0" || !digits.hasPrefix("0"), let index = UInt64(digits)
        else { throw AuditError(.badRequest, "proof has no valid index line") }
        lines.removeFirst()
        guard lines.count <= 63 else { throw AuditError(.badRequest, "inclusion proof longer than 63 hashes") }
        var hashes: [Data] = []
        for line in lines {
            guard let hash = Data(base64Encoded: line), hash.count == 32 else { throw AuditError(.badRequest, "proof line is not a SHA-256 hash") }
            hashes.append(hash)
        }
        self.init(extra: extra, index: index, proof: hashes, checkpoint: String(text[split.upperBound...]))
    }
}

/// A receipt proof that verified: the checkpoint it is in, and the record it proves.
public struct VerifiedReceipt: Sendable {
    public let checkpoint: Checkpoint
    public let index: UInt64
    public let leafHash: Data
    /// The record, when the proof carried the entry (`extra`).
    public let leaf: AuditLeaf?
    /// The witnesses whose cosignatures counted.
    public let witnessedBy: [String]
}

extension AuditVerifier {
    /// Verifies a `tlog-proof` offline: the checkpoint's log signature (and `quorum` witness cosignatures when
    /// `witnesses` are given), the inclusion proof of `index` against the checkpoint's root, and — when the proof
    /// carries the entry — that the entry hashes to the leaf, is canonical and names `index`. With `receipt`, the
    /// log, index, leaf hash and request id must also be the receipt's.
    /// - Throws: ``AuditError`` `bad_signature` for a checkpoint or witness failure, `audit_corrupt` for a proof or
    ///   entry that does not match, `bad_request` for a receipt about something else.
    public static func verifyReceipt(
        _ proof: TlogProof, log: NoteVerifier, witnesses: [CosignatureVerifier] = [], quorum: Int = 0, receipt: Receipt? = nil,
        now: Date = Date()
    ) throws -> VerifiedReceipt {
        let checkpoint: Checkpoint
        var witnessedBy: [String] = []
        if witnesses.isEmpty {
            checkpoint = try Checkpoint(body: try log.open(proof.checkpoint))
            guard checkpoint.origin == log.name else {
                throw AuditError(.badSignature, "checkpoint origin '\(checkpoint.origin)' is not the log '\(log.name)'")
            }
        } else {
            checkpoint = try verifyWitnessedCheckpoint(note: proof.checkpoint, log: log, witnesses: witnesses, quorum: quorum, now: now)
            witnessedBy = verifyCosignatures(note: proof.checkpoint, witnesses: witnesses, quorum: quorum, now: now).cosigners
        }
        guard proof.index < UInt64(checkpoint.size) else {
            throw AuditError(.corrupt, "index \(proof.index) is not in the checkpoint's tree of size \(checkpoint.size)")
        }
        var leafHash = receipt?.leafHash
        var leaf: AuditLeaf?
        if let entry = proof.extra {
            let hash = entry.withUnsafeBytes(MerkleHash.leaf32).data
            if let expected = leafHash, expected != hash { throw AuditError(.corrupt, "the entry does not hash to the receipt's leaf") }
            leafHash = hash
            guard let decoded = try? JSONDecoder().decode(AuditLeaf.self, from: entry), decoded.index == proof.index,
                (try? AuditEncoding.canonical(decoded)) == entry
            else { throw AuditError(.corrupt, "the entry is not the canonical audit leaf of index \(proof.index)") }
            leaf = decoded
        }
        guard let leafHash else { throw AuditError(.badRequest, "give the receipt (its leaf hash) or a proof that carries the entry") }
        guard MerkleProof.verifyInclusion(index: Int(proof.index), size: checkpoint.size, leafHash: leafHash, proof: proof.proof, root: checkpoint.root) else {
            throw AuditError(.corrupt, "the inclusion proof of \(proof.index) does not lead to the checkpoint's root")
        }
        if let receipt {
            guard receipt.origin == checkpoint.origin, receipt.index == proof.index else {
                throw AuditError(.badRequest, "the proof is for \(checkpoint.origin) #\(proof.index), the receipt for \(receipt.origin) #\(receipt.index)")
            }
            if let leaf, leaf.record.requestID != receipt.requestID {
                throw AuditError(.badRequest, "the record is about request \(leaf.record.requestID), the receipt about \(receipt.requestID)")
            }
        }
        return VerifiedReceipt(checkpoint: checkpoint, index: proof.index, leafHash: leafHash, leaf: leaf, witnessedBy: witnessedBy)
    }
}
