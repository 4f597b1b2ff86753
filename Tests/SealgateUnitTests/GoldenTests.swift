import Audit
import Crypto
import Foundation
import SealgateCore
import Testing

/// Encodings others depend on (auditors, mirrors, verifiers in other languages) are pinned by golden files.
/// To regenerate after an intentional format change: `SEALGATE_WRITE_GOLDEN=1 swift test --filter Golden`,
/// then review the diff and bump the format version in docs/audit-format.md.
@Suite("Golden files: audit leaf and checkpoint encodings")
struct GoldenTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func golden(_ name: String, _ actual: Data) throws {
        let url = dir.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["SEALGATE_WRITE_GOLDEN"] == "1" {
            try actual.write(to: url)
            return
        }
        let expected = try Data(contentsOf: url)
        #expect(actual == expected, "\(name) differs from its golden file")
    }

    static var leaf: AuditLeaf {
        var record = AuditRecord(
            kind: .query, time: Date(timeIntervalSince1970: 1_795_760_684.123), requestID: "7f8e037012d35e77af9a4a5ef3fa996f",
            tenant: "acme", principal: "acme-app", outcome: .allowed)
        record.dataClass = "internal"
        record.model = "extractive"
        record.scopeDigest = "hmac-sha256:" + String(repeating: "ab", count: 32)
        record.chunkIDsDigest = "hmac-sha256:" + String(repeating: "cd", count: 32)
        record.chunkCount = 3
        record.attestationStatus = "warning"
        record.attestationResultDigest = "sha-256:" + String(repeating: "ef", count: 32)
        record.referenceValueSet = "dev-enrolled-880e07548d1c"
        record.policyDigest = String(repeating: "12", count: 32)
        record.rule = "data_classes.internal.models"
        record.keyIDs = ["acme/kek/internal#1"]
        record.redactions = ["EMAIL": 1, "PHONE": 2]
        return AuditLeaf(index: 42, record: record)
    }

    @Test("The canonical leaf and its RFC 6962 leaf hash")
    func leafEncoding() throws {
        let bytes = try AuditEncoding.canonical(Self.leaf)
        try Self.golden("leaf-42.json", bytes)
        try Self.golden("leaf-42.hash.hex", Data((Hex.encode(MerkleHash.leaf(bytes)) + "\n").utf8))
    }

    /// An answer's record with the model digests added for issue #16: optional fields, so the leaf above (a record
    /// without them) encodes byte for byte as before and this one only adds its two keys.
    static var answerWithDigests: AuditLeaf {
        var record = Self.leaf.record
        record.modelDigest = "sha256:" + String(repeating: "0f", count: 32)
        record.embedderDigest = "sha256:" + String(repeating: "e1", count: 32)
        record.modelAttestation = "attested"
        return AuditLeaf(index: 43, record: record)
    }

    @Test("A record with model and embedder digests: canonical leaf, and it decodes back to the same record")
    func digestsEncoding() throws {
        let bytes = try AuditEncoding.canonical(Self.answerWithDigests)
        try Self.golden("leaf-43-digests.json", bytes)
        let decoded = try JSONDecoder().decode(AuditLeaf.self, from: bytes)
        #expect(decoded.record == Self.answerWithDigests.record && decoded.index == 43)
    }

    @Test("A checkpoint signed with a fixed key, and its verifier key")
    func checkpointEncoding() throws {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 0x42, count: 32))
        let signer = NoteSigner(name: "golden.sealgate.example/audit", key: key)
        let checkpoint = Checkpoint(origin: "golden.sealgate.example/audit", size: 43, root: Data(repeating: 0x5a, count: 32))
        // Ed25519 signatures in swift-crypto are randomised: pin the signed text and the verifier key, and check
        // that the pinned note (signed once, stored) still verifies.
        try Self.golden("checkpoint-43.body", Data(checkpoint.body.utf8))
        try Self.golden("verifier-key.txt", Data((signer.verifier.encoded + "\n").utf8))
        if ProcessInfo.processInfo.environment["SEALGATE_WRITE_GOLDEN"] == "1" {
            try Data(try signer.sign(checkpoint.body).utf8).write(to: Self.dir.appendingPathComponent("checkpoint-43.note"))
        }
        let note = try String(contentsOf: Self.dir.appendingPathComponent("checkpoint-43.note"), encoding: .utf8)
        #expect(try signer.verifier.open(note) == checkpoint.body)
    }
}
