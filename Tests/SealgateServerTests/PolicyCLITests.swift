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
}
