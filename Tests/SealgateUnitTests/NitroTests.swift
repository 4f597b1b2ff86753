import Attestation
import AttestationNitro
import Foundation
import SealgateCore
import Testing

/// Real AWS Nitro Enclaves documents from `../shared/vectors/nitro` (never copied into the project).
enum SharedVectors {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/vectors")
    static var present: Bool { FileManager.default.fileExists(atPath: root.path) }
    static let absent = "../shared/vectors is absent: real-hardware vector tests cannot run here"

    static func nitroSamples() -> [String] {
        let dir = root.appendingPathComponent("nitro")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/manifest.json").path) }.sorted()
    }
}

@Suite("AWS Nitro attestation documents (real samples)", .enabled(if: SharedVectors.present, Comment(rawValue: SharedVectors.absent)))
struct NitroTests {
    struct Manifest: Decodable {
        let as_of: String
        let expected: [String: AnyDecodable]
    }

    struct AnyDecodable: Decodable {
        let value: String
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { value = s } else if let n = try? c.decode(UInt64.self) { value = String(n) } else { value = "" }
        }
    }

    /// The verifier with its built-in pin of the AWS root (no root file needed).
    static func verifier() throws -> NitroAttestationVerifier { NitroAttestationVerifier() }

    @Test("The built-in pin equals the published root; a verifier pinned to another root refuses every document")
    func pins() throws {
        let pem = try String(contentsOf: SharedVectors.root.appendingPathComponent("nitro/roots/aws-nitro-enclaves-root-g1.pem"), encoding: .utf8)
        let explicit = try NitroAttestationVerifier(rootPEM: pem)
        let doc = try Self.load("prod-2022-09-28-cape", "attestation.cbor")
        if case .rejected(let f) = explicit.verifyDocument(doc) { Issue.record("explicit pin rejected: \(f)") }
        let intel = try String(contentsOf: SharedVectors.root.appendingPathComponent("tdx/roots/intel-sgx-root-ca.pem"), encoding: .utf8)
        let wrong = try NitroAttestationVerifier(rootPEM: intel)
        #expect(wrong.verifyDocument(doc) == .rejected([AttestationFailure(.chainInvalid, "cabundle does not start with the pinned AWS Nitro root")]))
    }

    static func load(_ sample: String, _ file: String) throws -> Data {
        try Data(contentsOf: SharedVectors.root.appendingPathComponent("nitro/\(sample)/\(file)"))
    }

    @Test("Every sample verifies with the manifest's expected values", arguments: SharedVectors.nitroSamples())
    func verifies(_ sample: String) throws {
        let manifest = try JSONDecoder().decode(Manifest.self, from: try Self.load(sample, "manifest.json"))
        guard case .verified(let doc) = try Self.verifier().verifyDocument(try Self.load(sample, "attestation.cbor")) else {
            Issue.record("\(sample) was rejected")
            return
        }
        let e = manifest.expected
        #expect(doc.moduleID == e["module_id"]?.value)
        #expect(String(doc.timestamp) == e["timestamp"]?.value)
        for i in 0..<16 { #expect(Hex.encode(doc.pcrs[i] ?? Data()) == e["pcr\(i)"]?.value, "pcr\(i)") }
        if let nonce = e["nonce"]?.value, !nonce.isEmpty { #expect(Hex.encode(doc.nonce ?? Data()) == nonce) }
        if let userData = e["user_data"]?.value, !userData.isEmpty { #expect(Hex.encode(doc.userData ?? Data()) == userData) }
        if let publicKey = e["public_key"]?.value, !publicKey.isEmpty { #expect(Hex.encode(doc.publicKey ?? Data()) == publicKey) }
        #expect(doc.isDebug == sample.hasPrefix("debug"))
    }

    @Test("Tampered copies are rejected: a flipped byte in the body or in the signature", arguments: SharedVectors.nitroSamples())
    func tampered(_ sample: String) throws {
        let verifier = try Self.verifier()
        for file in ["attestation-tampered-body.cbor", "attestation-tampered-sig.cbor"] {
            guard case .rejected(let failures) = verifier.verifyDocument(try Self.load(sample, file)) else {
                Issue.record("\(sample)/\(file) was accepted")
                continue
            }
            #expect(failures.map(\.reason).contains(.signatureInvalid), "\(sample)/\(file): \(failures)")
        }
    }

    @Test("Every byte flip, truncation and extension of a real document is rejected, never a crash")
    func mutations() throws {
        let verifier = try Self.verifier()
        let original = try Self.load("prod-2024-07-31-eternis", "attestation.cbor")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var mutated = original
            let i = Int.random(in: 0..<mutated.count, using: &generator)
            mutated[i] ^= UInt8.random(in: 1...255, using: &generator)
            if case .verified = verifier.verifyDocument(mutated) { Issue.record("a flip at \(i) was accepted") }
        }
        for cut in stride(from: 0, to: original.count, by: 97) {
            if case .verified = verifier.verifyDocument(original.prefix(cut)) { Issue.record("truncation to \(cut) accepted") }
        }
        if case .verified = verifier.verifyDocument(original + Data([0])) { Issue.record("an extended document was accepted") }
        if case .verified = verifier.verifyDocument(Data((0..<2048).map { _ in UInt8.random(in: 0...255) })) { Issue.record("random bytes accepted") }
    }

    @Test("Appraisal: a production policy rejects the debug document; the production document matches its PCRs")
    func appraisal() throws {
        let verifier = try Self.verifier()
        let prod = try Self.load("prod-2024-07-31-eternis", "attestation.cbor")
        guard case .verified(let doc) = verifier.verifyDocument(prod) else {
            Issue.record("production sample rejected")
            return
        }
        let measurement = (0...2).map { Hex.encode(doc.pcrs[$0] ?? Data()) }.joined()
        let debugDoc = try Self.load("debug-2024-09-09-eternis", "attestation.cbor")
        let appraiser = Appraiser(
            referenceValues: ReferenceValues(
                sets: [ReferenceValueSet(id: "enclave-v1", tee: .nitro, measurements: [measurement, String(repeating: "0", count: 288)])],
                acceptMockEvidence: false),
            verifiers: [verifier])
        let good = appraiser.appraise(Evidence(tee: .nitro, bytes: prod), reportData: .insecureSkipBindingCheck, now: doc.date)
        #expect(good.status == .affirming, "\(good.failures)")
        #expect(good.referenceValueSet == "enclave-v1")
        let later = appraiser.appraise(Evidence(tee: .nitro, bytes: prod), reportData: .insecureSkipBindingCheck, now: doc.date.addingTimeInterval(86_400))
        #expect(later.failures.map(\.reason) == [.evidenceExpired], "a day later the document is stale")
        guard case .verified(let debugParsed) = verifier.verifyDocument(debugDoc) else {
            Issue.record("debug sample rejected")
            return
        }
        let debug = appraiser.appraise(Evidence(tee: .nitro, bytes: debugDoc), reportData: .insecureSkipBindingCheck, now: debugParsed.date)
        #expect(debug.status == .contraindicated)
        #expect(debug.failures.map(\.reason) == [.debugEnabled])
    }

    @Test("CBOR decoder bounds: deep nesting, huge declared lengths and indefinite lengths are rejected")
    func cborBounds() {
        let decoder = CBORDecoder()
        #expect(throws: CBORError.self) { try decoder.decode(Data(repeating: 0x81, count: 100) + Data([0x00])) }
        #expect(throws: CBORError.self) { try decoder.decode(Data([0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])) }
        #expect(throws: CBORError.self) { try decoder.decode(Data([0x9f, 0x01, 0xff])) }
        #expect(throws: CBORError.self) { try decoder.decode(Data([0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])) }
        let decoded = try? decoder.decode(Data([0x82, 0x01, 0x38, 0x22]))
        #expect(decoded == .array([.unsigned(1), .negative(34)]))
    }
}
