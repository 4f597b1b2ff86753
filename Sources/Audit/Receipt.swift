import Foundation

/// What every answer carries in its `Sealgate-Receipt` field: which log, the index and leaf hash of the answer's
/// audit record, and the request id that record names.
///
/// The field is an RFC 8941 dictionary: `log="<origin>", index=<n>, leaf=:<base64 SHA-256 leaf hash>:,
/// request="<id>"`. The proof that the record is in the log is fetched later (`GET /v1/receipts/{index}`), so a
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

    /// Creates a receipt.
    public init(origin: String, index: UInt64, leafHash: Data, requestID: String) {
        self.origin = origin
        self.index = index
        self.leafHash = leafHash
        self.requestID = requestID
    }

    /// The `Sealgate-Receipt` field value.
    public var headerValue: String {
        "log=\(Self.quoted(origin)), index=\(index), leaf=:\(leafHash.base64EncodedString()):, request=\(Self.quoted(requestID))"
    }

    /// Parses a `Sealgate-Receipt` field value (members in any order; unknown members are ignored).
    /// - Throws: ``AuditError`` `bad_request` when a member is missing or malformed.
    public init(header: String) throws {
        var members: [String: String] = [:]
        var rest = Substring(header)
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            guard let equals = rest.firstIndex(of: "=") else { throw AuditError(.badRequest, "receipt member without a value") }
            let key = String(rest[..<equals])
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var closed = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if c == "\\" {
                        guard let next = rest.first, next == "\"" || next == "\\" else { throw AuditError(.badRequest, "bad escape in receipt") }
                        value.append(next)
                        rest = rest.dropFirst()
                    } else if c == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(c)
                    }
                }
                guard closed else { throw AuditError(.badRequest, "unterminated string in receipt") }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<end]).trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            members[key] = value
            rest = rest.drop { $0 == " " || $0 == "\t" }
            if rest.first == "," { rest = rest.dropFirst() } else if !rest.isEmpty { throw AuditError(.badRequest, "receipt members must be separated by commas") }
        }
        guard let origin = members["log"], !origin.isEmpty, let index = members["index"].flatMap({ UInt64($0) }),
            let leafField = members["leaf"], leafField.count > 2, leafField.hasPrefix(":"), leafField.hasSuffix(":"),
            let leaf = Data(base64Encoded: String(leafField.dropFirst().dropLast())), leaf.count == 32,
            let request = members["request"]
        else { throw AuditError(.badRequest, "a receipt needs log, index, leaf (32-byte hash) and request") }
        self.init(origin: origin, index: index, leafHash: leaf, requestID: request)
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars where scalar.value >= 0x20 && scalar.value < 0x7F {
            if scalar == "\"" || scalar == "\\" { out.append("\\") }
            out.unicodeScalars.append(scalar)
        }
        return out + "\""
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
