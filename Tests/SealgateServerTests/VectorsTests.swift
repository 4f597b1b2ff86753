import Attestation
import Crypto
import Foundation
import SealgateCore
import Testing

/// The project's shipped mock-TEE vectors (`vectors/mock/*.case.json`) and the shared real-hardware vectors,
/// both run through `sealgate vectors run`, the command users run on their own policies.
@Suite("Attestation test vectors")
struct VectorsTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("The shipped mock vectors: one accepted, eight rejected, each with its reason")
    func shippedMockVectors() throws {
        if ProcessInfo.processInfo.environment["SEALGATE_WRITE_VECTORS"] == "1" { try Self.writeMockVectors() }
        let run = try runSealgate(["vectors", "run", Self.repo.appendingPathComponent("vectors").path])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("9 passed, 0 failed"), "\(run.output)")
        for reason in ["measurement_unknown", "debug_enabled", "tcb_out_of_date", "report_data_mismatch", "evidence_expired", "unknown_signer", "mock_evidence_not_accepted"] {
            #expect(run.output.contains(reason), "\(reason) missing")
        }
    }

    @Test("The shared real-hardware vectors: every SEV-SNP, TDX, Nitro, Azure vTPM and NVIDIA sample and negative behaves; nothing is skipped", .enabled(if: FileManager.default.fileExists(atPath: nitroDir), "../shared/vectors is absent"))
    func sharedVectors() throws {
        let run = try runSealgate(["vectors", "run", URL(fileURLWithPath: nitroDir).deletingLastPathComponent().path])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("89 passed, 0 failed"), "\(run.output)")
        // Every attestation sample is run. `sigstore/` holds Sigstore bundles and model signatures, which are not
        // attestation evidence: `vectors run` reports it as not verified by this build, and nothing else may be.
        let skipped = run.output.split(separator: "\n").filter { $0.contains("SKIP") }
        #expect(skipped.allSatisfy { $0.contains("SKIP sigstore/") }, "\(skipped)")
        #expect(run.output.contains("hcl-report-tampered-runtime-data.bin rejected: report_data_mismatch"))
    }

    /// Regenerates `vectors/mock/` (run with SEALGATE_WRITE_VECTORS=1, then review and commit the files).
    static func writeMockVectors() throws {
        let dir = repo.appendingPathComponent("vectors/mock")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let signer = P256.Signing.PrivateKey()
        let stranger = P256.Signing.PrivateKey()
        let measurement = MockMeasurement(executableDigest: String(repeating: "a1", count: 48), policyDigest: String(repeating: "b2", count: 32))
        let at = Date(timeIntervalSince1970: 1_795_000_000)
        let binding = Data(SHA512.hash(data: Data("{\"nonce\":\"vector-nonce\",\"tee-pubkey\":\"vector-key\"}".utf8)))
        let otherKey = Data(SHA512.hash(data: Data("{\"nonce\":\"vector-nonce\",\"tee-pubkey\":\"another-key\"}".utf8)))
        let otherNonce = Data(SHA512.hash(data: Data("{\"nonce\":\"stale-nonce\",\"tee-pubkey\":\"vector-key\"}".utf8)))
        let dev = ReferenceValues(sets: [ReferenceValueSet(id: "dev", tee: .mock, measurements: [measurement.measurement], minSVN: 2)], acceptMockEvidence: true)
        struct Spec {
            let file: String, name: String, key: P256.Signing.PrivateKey, debug: Bool, svn: Int, bound: Data, issued: Date
            let refs: ReferenceValues, status: String, reasons: [String]
        }
        let unknown = ReferenceValues(sets: [ReferenceValueSet(id: "dev", tee: .mock, measurements: [String(repeating: "cd", count: 48)], minSVN: 2)], acceptMockEvidence: true)
        var production = dev
        production.acceptMockEvidence = false
        let specs = [
            Spec(file: "00-accepted", name: "expected build, fresh, bound: accepted (warning: mock)", key: signer, debug: false, svn: 2, bound: binding, issued: at, refs: dev, status: "warning", reasons: []),
            Spec(file: "01-unknown-measurement", name: "unknown measurement", key: signer, debug: false, svn: 2, bound: binding, issued: at, refs: unknown, status: "contraindicated", reasons: ["measurement_unknown"]),
            Spec(file: "02-debug-enabled", name: "debug enabled", key: signer, debug: true, svn: 2, bound: binding, issued: at, refs: dev, status: "contraindicated", reasons: ["debug_enabled"]),
            Spec(file: "03-svn-below-minimum", name: "svn below minimum", key: signer, debug: false, svn: 1, bound: binding, issued: at, refs: dev, status: "contraindicated", reasons: ["tcb_out_of_date"]),
            Spec(file: "04-wrong-nonce", name: "bound to another nonce", key: signer, debug: false, svn: 2, bound: otherNonce, issued: at, refs: dev, status: "contraindicated", reasons: ["report_data_mismatch"]),
            Spec(file: "05-other-key", name: "bound to another TEE key", key: signer, debug: false, svn: 2, bound: otherKey, issued: at, refs: dev, status: "contraindicated", reasons: ["report_data_mismatch"]),
            Spec(file: "06-expired", name: "evidence older than its freshness window", key: signer, debug: false, svn: 2, bound: binding, issued: at.addingTimeInterval(-3600), refs: dev, status: "contraindicated", reasons: ["evidence_expired"]),
            Spec(file: "07-unknown-signer", name: "signed by an unknown key", key: stranger, debug: false, svn: 2, bound: binding, issued: at, refs: dev, status: "contraindicated", reasons: ["unknown_signer"]),
            Spec(file: "08-production-policy", name: "mock evidence under a production policy", key: signer, debug: false, svn: 2, bound: binding, issued: at, refs: production, status: "contraindicated", reasons: ["mock_evidence_not_accepted"]),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let formatter = ISO8601DateFormatter()
        for spec in specs {
            let tee = MockTEE(signingKey: spec.key, measurement: measurement, debug: spec.debug, svn: spec.svn)
            let evidence = try tee.evidence(reportData: spec.bound, initDataDigest: nil, now: spec.issued)
            let c = VectorCaseFile(
                name: spec.name, type: "mock", evidence: String(decoding: evidence.bytes, as: UTF8.self),
                signer_public_key_pem: signer.publicKey.pemRepresentation, reference_values: spec.refs,
                report_data: Hex.encode(binding), at: formatter.string(from: at),
                expect: .init(status: spec.status, reasons: spec.reasons))
            try encoder.encode(c).write(to: dir.appendingPathComponent("\(spec.file).case.json"))
        }
    }

    struct VectorCaseFile: Encodable {
        struct Expect: Encodable {
            let status: String
            let reasons: [String]
        }
        let name: String, type: String, evidence: String, signer_public_key_pem: String
        let reference_values: ReferenceValues, report_data: String, at: String, expect: Expect
    }
}
