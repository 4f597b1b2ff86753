import Crypto
import Foundation
import JOSE
import KeyBroker
import SealgateCore
import SealgateTestSupport
import Testing

/// Runs the `sealgate` binary and returns its exit status, stdout and stderr separately.
func runSealgateSplit(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let output = try ChildProcess.run(try sealgateBinary(), arguments)
    return (output.status, output.text, output.errorText)
}

/// A temporary directory removed by `remove()`.
struct TempDir {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("attcli-\(UUID().uuidString)").path
    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The parsed `--json` document.
func verifyJSON(_ stdout: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "not JSON: \(stdout)")
}

let sharedVectors = URL(fileURLWithPath: nitroDir).deletingLastPathComponent().path

/// Whether a vector folder of `../shared/vectors` is present (each type's cases depend on its own folder only).
func sharedVectorsPresent(_ folder: String) -> Bool { FileManager.default.fileExists(atPath: sharedVectors + "/" + folder) }

@Suite("sealgate attestation verify: one JSON shape for every type, --certs in any order, --collateral, --nonce/--tee-pubkey")
struct AttestationVerifyCLITests {
    static let keys: Set<String> = ["type", "claims", "result", "report_data_check", "failures", "passed"]
    static let claimKeys: Set<String> = ["tee", "measurement", "report_data", "init_data_digest", "debug", "svn", "signer_id", "tcb_status", "qe_status"]

    static func manifest(_ sample: String) throws -> (expected: [String: Any], asOf: String) {
        let data = try Data(contentsOf: URL(fileURLWithPath: sharedVectors + "/" + sample + "/manifest.json"))
        let m = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (m["expected"] as? [String: Any] ?? [:], try #require(m["as_of"] as? String))
    }

    /// Checks the shared shape and an accepted result; returns the document.
    static func accepted(_ run: (status: Int32, stdout: String, stderr: String), status: String, set: String) throws -> [String: Any] {
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let doc = try verifyJSON(run.stdout)
        #expect(Set(doc.keys) == keys)
        #expect(doc["passed"] as? Bool == true)
        #expect((doc["failures"] as? [Any])?.isEmpty == true)
        let claims = try #require(doc["claims"] as? [String: Any])
        #expect(Set(claims.keys) == claimKeys)
        let result = try #require(doc["result"] as? [String: Any])
        #expect(result["status"] as? String == status)
        #expect(result["reference_value_set"] as? String == set)
        return doc
    }

    @Test("snp: the VCEK, ASK and ARK as separate files in shuffled order verify and affirm; the old --vcek/--cert-chain flags still work",
          .enabled(if: sharedVectorsPresent("sev-snp"), "../shared/vectors/sev-snp is absent: the CLI cannot be run on real SNP reports"))
    func snp() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let sample = sharedVectors + "/sev-snp/milan-v2-virtee"
        let (expected, asOf) = try Self.manifest("sev-snp/milan-v2-virtee")
        let measurement = try #require(expected["measurement"] as? String)
        let reportData = try #require(expected["report_data"] as? String)
        let chain = try String(contentsOfFile: sharedVectors + "/sev-snp/roots/cert_chain-milan.pem", encoding: .utf8)
        let pems = chain.components(separatedBy: "-----END CERTIFICATE-----").filter { $0.contains("BEGIN") }.map { $0 + "-----END CERTIFICATE-----\n" }
        try #require(pems.count == 2)
        let ask = try tmp.write("ask.pem", pems[0])
        let ark = try tmp.write("ark.pem", pems[1])
        let refs = try tmp.write("snp.yaml", "sets:\n  - id: virtee-sample\n    tee: snp\n    measurements: [\(measurement)]\n")
        let report = sample + "/report.bin"
        for order in [[ark, sample + "/vcek.der", ask], [ask, ark, sample + "/vcek.der"], [sample + "/vcek.der", ark, ask, ark]] {
            let run = try runSealgateSplit(["attestation", "verify", "--type", "snp", report, "--certs"] + order + [
                "--reference-values", refs, "--report-data", reportData, "--at", asOf, "--json",
            ])
            let doc = try Self.accepted(run, status: "affirming", set: "virtee-sample")
            let claims = try #require(doc["claims"] as? [String: Any])
            #expect(claims["measurement"] as? String == measurement)
            #expect(claims["tcb_status"] is NSNull)
            #expect(doc["report_data_check"] as? String == "equals")
        }
        let legacy = try runSealgate([
            "attestation", "verify", "--type", "snp", report, "--vcek", sample + "/vcek.der", "--cert-chain",
            sharedVectors + "/sev-snp/roots/cert_chain-milan.pem", "--at", asOf,
        ])
        #expect(legacy.status == 0, "\(legacy.output)")
        #expect(legacy.output.contains("evidence verified (snp)"))
        let missingARK = try runSealgateSplit(["attestation", "verify", "--type", "snp", report, "--certs", ask, sample + "/vcek.der", "--at", asOf])
        #expect(missingARK.status != 0)
        #expect(missingARK.stderr.contains("chain of 2"))
    }

    @Test("tdx: --collateral rates the TCB; UpToDate affirms, an unmatched TCB level and missing collateral are refused with their reasons",
          .enabled(if: sharedVectorsPresent("tdx"), "../shared/vectors/tdx is absent: the CLI cannot be run on real TDX quotes"))
    func tdx() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        func measurement(_ e: [String: Any]) -> String { ["mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3"].compactMap { e[$0] as? String }.joined() }
        let (phala, phalaAt) = try Self.manifest("tdx/v4-phala")
        let (outdated, outdatedAt) = try Self.manifest("tdx/v5-phala-outdated")
        let refs = try tmp.write(
            "tdx.json",
            #"{"sets": [{"id": "phala", "tee": "tdx", "measurements": ["\#(measurement(phala))", "\#(measurement(outdated))"], "accepted_tcb_statuses": ["UpToDate", "OutOfDate"]}]}"#)
        let dir = sharedVectors + "/tdx/v4-phala"
        let ok = try runSealgateSplit([
            "attestation", "verify", "--type", "tdx", dir + "/quote.bin", "--collateral", dir + "/collateral", "--reference-values", refs,
            "--report-data", try #require(phala["report_data"] as? String), "--at", phalaAt, "--json",
        ])
        let doc = try Self.accepted(ok, status: "affirming", set: "phala")
        let claims = try #require(doc["claims"] as? [String: Any])
        #expect(claims["tcb_status"] as? String == "UpToDate" && claims["qe_status"] as? String == "UpToDate")
        #expect((doc["result"] as? [String: Any])?["tcb_status"] as? String == "UpToDate")

        let old = sharedVectors + "/tdx/v5-phala-outdated"
        let refused = try runSealgateSplit([
            "attestation", "verify", "--type", "tdx", old + "/quote.bin", "--collateral", old, "--reference-values", refs,
            "--report-data", try #require(outdated["report_data"] as? String), "--at", outdatedAt, "--json",
        ])
        #expect(refused.status == 1, "\(refused.stdout)\n\(refused.stderr)")
        let refusedDoc = try verifyJSON(refused.stdout)
        #expect(refusedDoc["passed"] as? Bool == false)
        #expect(((refusedDoc["failures"] as? [[String: Any]]) ?? []).compactMap { $0["reason"] as? String } == ["tcb_out_of_date"])
        #expect((refusedDoc["claims"] as? [String: Any])?["tcb_status"] as? String == "NoMatchingTcbLevel")
        #expect(refused.stderr.contains("FAILED tcb_out_of_date"))

        let bare = try runSealgateSplit([
            "attestation", "verify", "--type", "tdx", dir + "/quote.bin", "--reference-values", refs, "--report-data",
            try #require(phala["report_data"] as? String), "--at", phalaAt,
        ])
        #expect(bare.status == 1)
        #expect(bare.stderr.contains("FAILED tcb_status_unknown"))
        #expect(bare.stdout.contains("tcb_status: NotEvaluated"))
    }

    @Test("nitro: the production document affirms with --json; --certs is refused because it would add no trust",
          .enabled(if: sharedVectorsPresent("nitro"), "../shared/vectors/nitro is absent: the CLI cannot be run on real Nitro documents"))
    func nitro() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let (expected, _) = try Self.manifest("nitro/prod-2024-07-31-eternis")
        let pcrs = (0..<3).compactMap { expected["pcr\($0)"] as? String }.joined()
        let refs = try tmp.write("nitro.yaml", "sets:\n  - id: eternis-enclave\n    tee: nitro\n    measurements: [\(pcrs)]\n")
        let document = nitroDir + "/prod-2024-07-31-eternis/attestation.cbor"
        let run = try runSealgateSplit(["attestation", "verify", "--type", "nitro", document, "--reference-values", refs, "--at", "2024-07-31T20:18:30Z", "--json"])
        let doc = try Self.accepted(run, status: "affirming", set: "eternis-enclave")
        #expect(doc["report_data_check"] as? String == "skipped")
        #expect(run.stderr.contains("REPORT_DATA binding not checked"))
        // `policy explain` reads the document as it is printed.
        let saved = try tmp.write("result.json", run.stdout)
        let policy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/policies/acme.json").path
        let explained = try runSealgate(["policy", "explain", "--policy", policy, "--result", saved, "--resource", "acme/kek/restricted"])
        #expect(explained.status != 2, "\(explained.output)")
        #expect(explained.output.contains("decision:"))
        let certs = try runSealgateSplit(["attestation", "verify", "--type", "nitro", document, "--certs", nitroDir + "/roots/aws-nitro-enclaves-root-g1.pem"])
        #expect(certs.status != 0 && certs.stderr.contains("--root"))
    }

    /// A development key in a data dir, reference values accepting mock evidence from it, and mock evidence.
    static func mockSetup(_ tmp: TempDir, measurement: String, reportData: Data) throws -> (refs: String, evidence: String, dataDir: String) {
        let key = P256.Signing.PrivateKey()
        _ = try tmp.write("data/mock-tee/signing-key.pem", key.pemRepresentation)
        let pem = key.publicKey.pemRepresentation.replacingOccurrences(of: "\n", with: "\\n")
        let refs = try tmp.write(
            "dev.json", #"{"sets": [{"id": "dev", "tee": "mock", "measurements": ["\#(measurement)"], "min_svn": 2}], "accept_mock_evidence": true, "mock_signers": ["\#(pem)"]}"#)
        let made = try runSealgateSplit([
            "attestation", "mock-evidence", "--report-data", Hex.encode(reportData), "--measurement", measurement.uppercased(), "--svn", "3",
            "--data-dir", tmp.path + "/data",
        ])
        #expect(made.status == 0, "\(made.stderr)")
        return (refs, try tmp.write("evidence.jws", made.stdout), tmp.path + "/data")
    }

    @Test("mock: --nonce/--tee-pubkey bind exactly as the broker does; another nonce or key is report_data_mismatch with exit 1")
    func mockBinding() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let teeKey = JWK.ec(P256.KeyAgreement.PrivateKey().publicKey)
        let otherKey = JWK.ec(P256.KeyAgreement.PrivateKey().publicKey)
        // Begins with "-", as one broker nonce in 64 does: still the option's value, not an option.
        let nonce = "-2Pp0hV1mG3oK8x9c2Yt5s7rW4eZbN6aD1fJ0uLiQkM"
        let measurement = String(repeating: "c3", count: 48)
        let (refs, evidence, _) = try Self.mockSetup(tmp, measurement: measurement, reportData: RuntimeData(nonce: nonce, teePublicKey: teeKey).reportData)
        let encoder = JSONEncoder()
        let keyFile = try tmp.write("tee.jwk", String(decoding: try encoder.encode(teeKey), as: UTF8.self))
        let otherFile = try tmp.write("other.jwk", String(decoding: try encoder.encode(otherKey), as: UTF8.self))
        func verify(_ extra: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try runSealgateSplit(["attestation", "verify", "--type", "mock", evidence, "--reference-values", refs, "--json"] + extra)
        }
        let ok = try Self.accepted(try verify(["--nonce", nonce, "--tee-pubkey", keyFile]), status: "warning", set: "dev")
        let claims = try #require(ok["claims"] as? [String: Any])
        #expect(claims["measurement"] as? String == measurement)
        #expect(claims["svn"] as? Int == 3)
        for extra in [["--nonce", nonce + "x", "--tee-pubkey", keyFile], ["--nonce", nonce, "--tee-pubkey", otherFile]] {
            let run = try verify(extra)
            #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
            let doc = try verifyJSON(run.stdout)
            #expect(doc["passed"] as? Bool == false)
            #expect(((doc["failures"] as? [[String: Any]]) ?? []).compactMap { $0["reason"] as? String } == ["report_data_mismatch"])
            #expect((doc["result"] as? [String: Any])?["status"] as? String == "contraindicated")
            #expect(run.stderr.contains("FAILED report_data_mismatch"))
        }
        // Without reference values the binding is still checked against the verified claims.
        let signer = try tmp.write("signer.pem", try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: refs))) as? [String: Any])["mock_signers"]
            .flatMap { ($0 as? [String])?.first } ?? "")
        let bare = try runSealgateSplit(["attestation", "verify", "--type", "mock", evidence, "--mock-signer", signer, "--nonce", "other", "--tee-pubkey", keyFile])
        #expect(bare.status == 1)
        #expect(bare.stderr.contains("FAILED report_data_mismatch"))
        let both = try verify(["--nonce", nonce, "--tee-pubkey", keyFile, "--report-data", "00"])
        #expect(both.status != 0 && both.stderr.contains("not both"))
        let lonely = try verify(["--nonce", nonce])
        #expect(lonely.status != 0 && lonely.stderr.contains("go together"))
    }

    @Test("mock-evidence: --measurement excludes the digest options and must be 48 bytes")
    func mockEvidenceOptions() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        _ = try tmp.write("data/mock-tee/signing-key.pem", P256.Signing.PrivateKey().pemRepresentation)
        let base = ["attestation", "mock-evidence", "--report-data", String(repeating: "00", count: 64), "--data-dir", tmp.path + "/data"]
        let short = try runSealgateSplit(base + ["--measurement", "abcd"])
        #expect(short.status != 0 && short.stderr.contains("48 bytes"))
        let mixed = try runSealgateSplit(base + ["--measurement", String(repeating: "ab", count: 48), "--policy-digest", String(repeating: "00", count: 32)])
        #expect(mixed.status != 0 && mixed.stderr.contains("directly"))
        let composed = try runSealgateSplit(base + ["--executable-digest", String(repeating: "a1", count: 48)])
        #expect(composed.status == 0)
    }
}
