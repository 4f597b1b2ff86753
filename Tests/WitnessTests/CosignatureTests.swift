import Audit
import Crypto
import Foundation
import SealgateCore
import Testing

/// cosignature/v1 encoding against an independently generated vector, and the k-of-n witness policy.
@Suite("Cosignatures (C2SP tlog-cosignature v1)")
struct CosignatureTests {
    struct Vector: Decodable {
        let log_name: String
        let witness_name: String
        let log_seed_hex: String
        let witness_seed_hex: String
        let time: UInt64
        let checkpoint_text: String
        let log_key: String
        let witness_key: String
        let cosignature_line: String
        let cosigned_note: String
    }

    static func vector() throws -> Vector {
        let url = try #require(Bundle.module.url(forResource: "cosignature", withExtension: "json", subdirectory: "Vectors"))
        return try JSONDecoder().decode(Vector.self, from: Data(contentsOf: url))
    }

    static func key(_ hex: String) throws -> Curve25519.Signing.PrivateKey {
        try Curve25519.Signing.PrivateKey(rawRepresentation: try #require(Hex.decode(hex)))
    }

    @Test("Sealgate's cosignature and keys equal the vector made with Python's cryptography from the specification")
    func vectorBytes() throws {
        let v = try Self.vector()
        let log = NoteSigner(name: v.log_name, key: try Self.key(v.log_seed_hex))
        let witness = CosignatureSigner(name: v.witness_name, key: try Self.key(v.witness_seed_hex))
        #expect(log.verifier.encoded == v.log_key)
        #expect(witness.verifier.encoded == v.witness_key)
        #expect(try CosignatureVerifier(encoded: v.witness_key) == witness.verifier)
        #expect(try witness.cosign(v.checkpoint_text, time: v.time) == v.cosignature_line)
        var note = try SignedNote(try log.sign(v.checkpoint_text))
        try note.append(lines: v.cosignature_line)
        #expect(note.encoded == v.cosigned_note)
        let check = AuditVerifier.verifyCosignatures(
            note: v.cosigned_note, witnesses: [witness.verifier], quorum: 1, now: Date(timeIntervalSince1970: TimeInterval(v.time)))
        #expect(check.meetsQuorum)
        #expect(check.times[v.witness_name] == v.time)
        // A log key is not a witness key: the type byte differs.
        #expect(throws: AuditError.self) { try CosignatureVerifier(encoded: v.log_key) }
    }

    @Test("k of n: counts distinct valid witnesses, ignores unknown keys, and rejects forged, misplaced or future cosignatures")
    func policy() throws {
        let log = NoteSigner(name: "policy.test/log", key: .init())
        let text = Checkpoint(origin: "policy.test/log", size: 12, root: Data(repeating: 7, count: 32)).body
        let witnesses = (0..<3).map { CosignatureSigner(name: "policy.test/w\($0)", key: .init()) }
        let stranger = CosignatureSigner(name: "policy.test/stranger", key: .init())
        let now = Date(timeIntervalSince1970: 2_000_000_000)
        var note = try SignedNote(try log.sign(text))
        for signer in [witnesses[0], witnesses[1], stranger] { try note.append(lines: try signer.cosign(text, time: 1_999_999_000)) }
        let keys = witnesses.map(\.verifier)

        let two = AuditVerifier.verifyCosignatures(note: note.encoded, witnesses: keys, quorum: 2, now: now)
        #expect(two.meetsQuorum)
        #expect(two.cosigners == ["policy.test/w0", "policy.test/w1"])
        #expect(!AuditVerifier.verifyCosignatures(note: note.encoded, witnesses: keys, quorum: 3, now: now).meetsQuorum)
        #expect(!AuditVerifier.verifyCosignatures(note: note.encoded, witnesses: [keys[0], keys[0]], quorum: 2, now: now).meetsQuorum)
        // One witness key listed under a second name: its line copied under that name (the cosigned message has no
        // name in it) must not count as a second cosigner.
        let shared = Curve25519.Signing.PrivateKey()
        let named = CosignatureSigner(name: "policy.test/named", key: shared)
        let alias = CosignatureSigner(name: "policy.test/alias", key: shared)
        var copied = try SignedNote(try log.sign(text))
        for signer in [named, alias] { try copied.append(lines: try signer.cosign(text, time: 1_999_999_000)) }
        let doubled = AuditVerifier.verifyCosignatures(note: copied.encoded, witnesses: [named.verifier, alias.verifier], quorum: 2, now: now)
        #expect(!doubled.meetsQuorum && doubled.failures.contains { $0.contains("distinct") }, "\(doubled)")
        #expect(!AuditVerifier.verifyCosignatures(note: note.encoded, witnesses: keys, quorum: 0, now: now).meetsQuorum)
        #expect(try AuditVerifier.verifyWitnessedCheckpoint(note: note.encoded, log: log.verifier, witnesses: keys, quorum: 2, now: now).size == 12)

        // A cosignature of another checkpoint moved onto this one is invalid and rejects the note.
        let otherText = Checkpoint(origin: "policy.test/log", size: 13, root: Data(repeating: 8, count: 32)).body
        var moved = try SignedNote(try log.sign(text))
        try moved.append(lines: try witnesses[0].cosign(text, time: 1_999_999_000))
        try moved.append(lines: try witnesses[1].cosign(otherText, time: 1_999_999_000))
        let misplaced = AuditVerifier.verifyCosignatures(note: moved.encoded, witnesses: keys, quorum: 1, now: now)
        #expect(!misplaced.meetsQuorum)
        #expect(misplaced.failures.count == 1)

        // A cosignature dated an hour ahead of the verifier's clock.
        var future = try SignedNote(try log.sign(text))
        try future.append(lines: try witnesses[2].cosign(text, time: 2_000_003_600))
        #expect(!AuditVerifier.verifyCosignatures(note: future.encoded, witnesses: keys, quorum: 1, now: now).meetsQuorum)

        // The log's own signature must verify too.
        let impostor = NoteSigner(name: "policy.test/log", key: .init())
        #expect(throws: AuditError.self) {
            try AuditVerifier.verifyWitnessedCheckpoint(note: note.encoded, log: impostor.verifier, witnesses: keys, quorum: 1, now: now)
        }
    }

    @Test("add-checkpoint bodies round-trip, and the spec's example body parses")
    func requestBody() throws {
        let note = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        let body = "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\n" + note
        let request = try AddCheckpointRequest(body: Data(body.utf8))
        #expect(request.oldSize == 20_852_014)
        #expect(request.proof.count == 2)
        #expect(request.note == note)
        #expect(request.body == Data(body.utf8))
        #expect(throws: AuditError.self) { try AddCheckpointRequest(body: Data("old 007\n\n\(note)".utf8)) }
    }
}
