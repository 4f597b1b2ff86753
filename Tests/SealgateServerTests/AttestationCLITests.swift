import Foundation
import SealgateTestSupport
import Testing

/// Runs the `sealgate` binary and returns its exit status and output.
func runSealgate(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let output = try ChildProcess.run(try sealgateBinary(), arguments, mergingErrors: true)
    return (output.status, output.text)
}

@Suite("sealgate attestation verify over real Nitro documents", .enabled(if: FileManager.default.fileExists(atPath: nitroDir), "../shared/vectors is absent"))
struct AttestationCLITests {
    @Test("Production document with matching reference values passes; tampered, stale and debug documents fail with their reasons")
    func verifyCommand() throws {
        let root = nitroDir + "/roots/aws-nitro-enclaves-root-g1.pem"
        let prod = nitroDir + "/prod-2024-07-31-eternis/attestation.cbor"
        let pcrs = "a6cdfede5b1e7950de33218995add7d8f1f6e059c9cccd204316e69feaa2ce54f6f9ff6f5992db0f1ca6135f9b095b85"
            + "4b4d5b3661b3efc12920900c80e126e4ce783c522de6c02a2a5bf7af3a2b9327b86776f188e4be1c1c404a129dbda493"
            + "96305fcb8857758cba8e5b260f32dba1e00be6343c11521a5c24db6834955f116e884df8c7b2a6a1736295b48c82af14"
        let refs = FileManager.default.temporaryDirectory.appendingPathComponent("refs-\(UUID().uuidString).yaml").path
        try "sets:\n  - id: eternis-enclave\n    tee: nitro\n    measurements: [\(pcrs), \(String(repeating: "0", count: 288))]\naccept_mock_evidence: false\n"
            .write(toFile: refs, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: refs) }

        let ok = try runSealgate(["attestation", "verify", "--type", "nitro", prod, "--root", root, "--reference-values", refs, "--at", "2024-07-31T20:18:30Z"])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output.contains("appraisal: affirming (reference values eternis-enclave)"))

        let tampered = try runSealgate(["attestation", "verify", "--type", "nitro", nitroDir + "/prod-2024-07-31-eternis/attestation-tampered-body.cbor", "--root", root, "--at", "2024-07-31T20:18:30Z"])
        #expect(tampered.status != 0)
        #expect(tampered.output.contains("REJECTED signature_invalid"))

        let stale = try runSealgate(["attestation", "verify", "--type", "nitro", prod, "--root", root, "--at", "2024-08-05T00:00:00Z"])
        #expect(stale.status != 0)
        #expect(stale.output.contains("REJECTED evidence_expired"))

        let debug = try runSealgate(["attestation", "verify", "--type", "nitro", nitroDir + "/debug-2024-09-09-eternis/attestation.cbor", "--root", root, "--reference-values", refs, "--at", "2024-09-09T19:49:13Z"])
        #expect(debug.status != 0)
        #expect(debug.output.contains("FAILED debug_enabled"), "\(debug.output)")
    }
}

let nitroDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/vectors/nitro").path
