import Foundation

/// A transparency log entry as a bundle carries it (`TransparencyLogEntry`), Rekor v1 or v2.
public struct TlogEntry: Sendable {
    /// A Merkle inclusion proof with the checkpoint (signed note) it leads to.
    public struct InclusionProof: Sendable {
        public let logIndex: Int64
        public let treeSize: Int64
        public let rootHash: Data
        public let hashes: [Data]
        /// The checkpoint as a C2SP signed note, or nil when the bundle has none.
        public let checkpoint: String?
    }

    public let logIndex: Int64
    /// The log's id: SHA-256 of its public key (DER SubjectPublicKeyInfo).
    public let logID: Data
    public let kind: String
    public let version: String
    /// Rekor v1 only: when the log says it integrated the entry, counted only with a valid promise.
    public let integratedTime: Int64?
    /// Rekor v1 only: the signed entry timestamp (SET).
    public let signedEntryTimestamp: Data?
    public let inclusionProof: InclusionProof?
    /// The canonicalized entry body, as logged (its SHA-256 with a 0x00 prefix is the Merkle leaf).
    public let canonicalizedBody: Data

    /// The entry's body as the base64 text the SET signs.
    let canonicalizedBodyBase64: String

    init(wire: Wire) throws {
        logIndex = wire.logIndex.value
        logID = try B64.decode(wire.logId.keyId, "tlogEntries.logId.keyId")
        kind = wire.kindVersion.kind
        version = wire.kindVersion.version
        integratedTime = wire.integratedTime.map(\.value).flatMap { $0 == 0 ? nil : $0 }
        signedEntryTimestamp = try wire.inclusionPromise.map {
            try B64.decode($0.signedEntryTimestamp, "inclusionPromise.signedEntryTimestamp")
        }
        inclusionProof = try wire.inclusionProof.map { p in
            InclusionProof(
                logIndex: p.logIndex.value, treeSize: p.treeSize.value,
                rootHash: try B64.decode(p.rootHash, "inclusionProof.rootHash"),
                hashes: try p.hashes.map { try B64.decode($0, "inclusionProof.hashes") },
                checkpoint: p.checkpoint?.envelope)
        }
        canonicalizedBodyBase64 = wire.canonicalizedBody
        canonicalizedBody = try B64.decode(wire.canonicalizedBody, "tlogEntries.canonicalizedBody")
    }

    struct Wire: Decodable {
        struct LogID: Decodable { let keyId: String }
        struct KindVersion: Decodable { let kind: String; let version: String }
        struct Promise: Decodable { let signedEntryTimestamp: String }
        struct Checkpoint: Decodable { let envelope: String }
        struct Proof: Decodable {
            let logIndex: WireInt
            let rootHash: String
            let treeSize: WireInt
            let hashes: [String]
            let checkpoint: Checkpoint?
        }
        let logIndex: WireInt
        let logId: LogID
        let kindVersion: KindVersion
        let integratedTime: WireInt?
        let inclusionPromise: Promise?
        let inclusionProof: Proof?
        let canonicalizedBody: String
    }
}
