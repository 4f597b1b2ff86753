import Foundation
import Testing

@Suite("sealgate policy explain")
struct PolicyCLITests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/policies/acme.json").path

    /// An attestation result as `sealgate attestation verify --json` prints it, between its other lines.
    static func resultFile(debug: Bool) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("result-\(UUID().uuidString).json").path
        let json = """
            note: REPORT_DATA binding not checked (no --report-data)
            {
              "debug" : \(debug), "evidence_digest" : "sha-256:\(String(repeating: "0", count: 64))", "failures" : [], "iat" : 1700000000,
              "measurement" : "\(String(repeating: "ab", count: 48))", "reference_value_set" : "snp-prod", "status" : "affirming",
              "svn" : 5, "tee" : "snp",
              "trustworthiness" : { "configuration" : 2, "executables" : 2, "hardware" : 2, "instance-identity" : 2 }
            }
            evidence verified (snp)
            """
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("The example policy denies a debug TEE naming the deciding rule (exit 3), allows a clean one (exit 0), rejects a bad resource (exit 2)")
    func explain() throws {
        let debug = try Self.resultFile(debug: true)
        let clean = try Self.resultFile(debug: false)
        defer { [debug, clean].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        let denied = try runSealgate(["policy", "explain", "--policy", Self.example, "--result", debug, "--resource", "acme/kek/restricted"])
        #expect(denied.status == 3, "\(denied.output)")
        #expect(denied.output.contains("decision: DENIED by acme-restricted-hardware/allOf[1]/not (debug_enabled)"), "\(denied.output)")
        let allowed = try runSealgate(["policy", "explain", "--policy", Self.example, "--result", clean, "--resource", "acme/kek/restricted"])
        #expect(allowed.status == 0, "\(allowed.output)")
        #expect(allowed.output.contains("decision: ALLOWED by acme-no-attestation-failures/clean-and-accepted (granted)"), "\(allowed.output)")
        let bad = try runSealgate(["policy", "explain", "--policy", Self.example, "--result", clean, "--resource", "acme/../kek"])
        #expect(bad.status == 2, "\(bad.output)")
    }

    @Test("Image and model inputs: explain prints image.digest, image.signed_by and --model-digest, and the image.signed_by rule that decided")
    func imageInputs() throws {
        let image = "sha256:" + String(repeating: "1f", count: 32)
        let model = "sha256:" + String(repeating: "2e", count: 32)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("explain-image-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = dir.appendingPathComponent("result.json").path
        try """
            {"debug": false, "evidence_digest": "sha-256:\(String(repeating: "0", count: 64))", "failures": [], "iat": 1700000000,
             "measurement": "\(String(repeating: "ab", count: 48))", "reference_value_set": "snp-prod", "status": "affirming", "tee": "snp", "svn": 5,
             "trustworthiness": {"configuration": 2, "executables": 2, "hardware": 2, "instance-identity": 2},
             "image": {"digest": "\(image)", "signed_by": "builder@example.com"}}
            """.write(toFile: result, atomically: true, encoding: .utf8)
        let policy = dir.appendingPathComponent("policy.json").path
        try """
            {"id": "signed-model", "rule": {"allOf": [
              {"field": "image.signed_by", "equals": "release@example.com", "name": "release-signer"},
              {"field": "model.digest", "equals": "\(model)"}]}}
            """.write(toFile: policy, atomically: true, encoding: .utf8)
        let denied = try runSealgate(["policy", "explain", "--policy", policy, "--result", result, "--resource", "acme/model/llama", "--model-digest", model])
        #expect(denied.status == 3, "\(denied.output)")
        #expect(denied.output.contains("inputs: image.digest \(image), image.signed_by builder@example.com, model.digest \(model)"), "\(denied.output)")
        #expect(denied.output.contains("decision: DENIED by signed-model/release-signer (image_signer_not_allowed)"), "\(denied.output)")
        let noModel = try runSealgate(["policy", "explain", "--policy", policy, "--result", result, "--resource", "acme/model/llama"])
        #expect(noModel.output.contains("model.digest (missing)"), "\(noModel.output)")
        let bad = try runSealgate(["policy", "explain", "--policy", policy, "--result", result, "--resource", "acme/model/llama", "--model-digest", "md5:00"])
        #expect(bad.status == 2, "\(bad.output)")
    }

    /// A mock result appraised against the set `set` with `status`.
    static func mockResult(status: String, set: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mock-result-\(UUID().uuidString).json").path
        let json = """
            {"debug": false, "evidence_digest": "sha-256:\(String(repeating: "0", count: 64))", "failures": [], "iat": 1700000000,
             "measurement": "\(String(repeating: "cd", count: 48))", "reference_value_set": "\(set)", "status": "\(status)", "tee": "mock", "svn": 0,
             "trustworthiness": {"configuration": 2, "executables": 2, "hardware": 1, "instance-identity": 2}}
            """
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("--reference-values: the fallback follows accept_mock_evidence as the broker's does; contraindicated is denied first; another set is flagged")
    func referenceValues() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let accepting = try dir.write("rv-accept.yaml", "sets:\n  - id: sealgate-gateway\n    tee: mock\n    measurements: [\(String(repeating: "cd", count: 48))]\naccept_mock_evidence: true\n")
        let refusing = try dir.write("rv-refuse.yaml", "sets:\n  - id: sealgate-gateway\n    tee: mock\n    measurements: [\(String(repeating: "cd", count: 48))]\naccept_mock_evidence: false\n")
        let warning = try Self.mockResult(status: "warning", set: "sealgate-gateway")
        let contraindicated = try Self.mockResult(status: "contraindicated", set: "sealgate-gateway")
        let otherSet = try Self.mockResult(status: "warning", set: "someone-else")
        defer { [warning, contraindicated, otherSet].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        // No policy of the example applies to globex: the broker's default decides.
        func explain(_ result: String, _ values: String) throws -> (status: Int32, stdout: String, stderr: String) {
            try runSealgateSplit(["policy", "explain", "--policy", Self.example, "--result", result, "--resource", "globex/kek/internal", "--reference-values", values])
        }
        let allowed = try explain(warning, accepting)
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(allowed.stdout.contains("decision: ALLOWED by broker-default"), "\(allowed.stdout)")
        let denied = try explain(warning, refusing)
        #expect(denied.status == 3, "\(denied.stdout)\(denied.stderr)")
        let refused = try explain(contraindicated, accepting)
        #expect(refused.status == 3 && refused.stdout.contains("decision: DENIED by token.status (attestation_contraindicated)"), "\(refused.stdout)")
        let flagged = try explain(otherSet, accepting)
        #expect(flagged.stderr.contains("appraised against reference values someone-else"), "\(flagged.stderr)")
        let both = try runSealgateSplit([
            "policy", "explain", "--policy", Self.example, "--result", warning, "--resource", "globex/kek/internal", "--reference-values", accepting,
            "--allow-mock-fallback",
        ])
        #expect(both.status == 64, "\(both.stderr)")
    }
}
