import ArgumentParser
import Attestation
import AttestationNitro
import AttestationSEVSNP
import AttestationTDX
import Crypto
import Foundation
import SealgateCore

/// One case of the project's own vector format (`*.case.json`).
struct VectorCase: Codable {
    struct Expect: Codable {
        var status: String
        var reasons: [String]
    }
    var name: String
    var type: String
    var evidence: String
    var signerPublicKeyPEM: String
    var referenceValues: ReferenceValues
    /// Hex of the REPORT_DATA the verifier expects (the binding of nonce and TEE key).
    var reportData: String
    var at: String
    var expect: Expect

    enum CodingKeys: String, CodingKey {
        case name, type, evidence, at, expect
        case signerPublicKeyPEM = "signer_public_key_pem"
        case referenceValues = "reference_values"
        case reportData = "report_data"
    }
}

struct VectorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors",
        abstract: "Run attestation test vectors.",
        subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every case under the given folders; one line per case, then 'N passed, N failed'.",
            discussion: """
                Accepts the project's case files (*.case.json: evidence, signer key, reference values, expected REPORT_DATA, \
                time, expected status and reasons) and the layout of ../shared/vectors (a manifest.json per sample with \
                as_of, expected values and tampered negatives). Evidence types this build cannot verify yet are listed as \
                skipped, never counted as passed.
                """)
        @Argument(help: "Folders to search.") var folders: [String]

        func run() async throws {
            var passed = 0
            var failed = 0
            var skipped = 0
            func report(_ ok: Bool, _ line: String) {
                if ok { passed += 1 } else { failed += 1 }
                print("\(ok ? "ok  " : "FAIL") \(line)")
            }
            let fm = FileManager.default
            for folder in folders {
                guard let walker = fm.enumerator(atPath: folder) else { throw ValidationError("\(folder) is not a folder") }
                for relative in walker.allObjects.compactMap({ $0 as? String }).sorted() {
                    let path = folder + "/" + relative
                    if relative.hasSuffix(".case.json") {
                        let (ok, detail) = runCase(path)
                        report(ok, "\(relative): \(detail)")
                    } else if (relative as NSString).lastPathComponent == "manifest.json" {
                        let results = runManifest(path)
                        if results.isEmpty {
                            skipped += 1
                            print("SKIP \(relative): this evidence type is not verified by this build")
                        }
                        for (ok, detail) in results { report(ok, "\(relative): \(detail)") }
                    }
                }
            }
            print("\(passed) passed, \(failed) failed" + (skipped > 0 ? ", \(skipped) skipped" : ""))
            if failed > 0 { throw ExitCode(1) }
        }

        static func date(_ text: String) -> Date? {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return f.date(from: text) ?? ISO8601DateFormatter().date(from: text)
        }

        func runCase(_ path: String) -> (Bool, String) {
            guard let data = FileManager.default.contents(atPath: path), let c = try? JSONDecoder().decode(VectorCase.self, from: data) else {
                return (false, "not a valid case file")
            }
            guard c.type == "mock", let key = try? P256.Signing.PublicKey(pemRepresentation: c.signerPublicKeyPEM),
                let at = Self.date(c.at), let expected = Hex.decode(c.reportData)
            else { return (false, "\(c.name): unsupported type or malformed fields") }
            let appraiser = Appraiser(referenceValues: c.referenceValues, verifiers: [MockEvidenceVerifier(trustedSigners: [key])])
            let result = appraiser.appraise(Evidence(tee: .mock, bytes: Data(c.evidence.utf8)), reportData: .equals(expected), now: at)
            let reasons = result.failures.map(\.reason.rawValue)
            let ok = result.status.rawValue == c.expect.status && Set(reasons) == Set(c.expect.reasons)
            return (ok, "\(c.name): \(result.status.rawValue) \(reasons.joined(separator: ","))\(ok ? "" : " (expected \(c.expect.status) \(c.expect.reasons.joined(separator: ",")))")")
        }

        func runManifest(_ path: String) -> [(Bool, String)] {
            let dir = (path as NSString).deletingLastPathComponent
            if let data = FileManager.default.contents(atPath: path),
                let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any], manifest["type"] as? String == "sev-snp"
            {
                return runSNPManifest(manifest, dir: dir)
            }
            if let data = FileManager.default.contents(atPath: path),
                let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any], manifest["type"] as? String == "tdx"
            {
                return runTDXManifest(manifest, dir: dir)
            }
            if let data = FileManager.default.contents(atPath: path),
                let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                ["azure-snp-vtpm", "azure-tdx-vtpm"].contains(manifest["type"] as? String ?? "")
            {
                return runAzureManifest(manifest, dir: dir)
            }
            if let data = FileManager.default.contents(atPath: path),
                let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any], manifest["type"] as? String == "nvidia-spdm"
            {
                return runNVIDIAManifest(manifest, dir: dir)
            }
            guard let data = FileManager.default.contents(atPath: path),
                let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                manifest["type"] as? String == "nitro", let files = manifest["files"] as? [String: String],
                let document = files["document"], let rootFile = files["root"],
                let rootPEM = try? String(contentsOfFile: dir + "/" + rootFile, encoding: .utf8),
                let verifier = try? NitroAttestationVerifier(rootPEM: rootPEM),
                let asOf = (manifest["as_of"] as? String).flatMap(Self.date),
                let bytes = FileManager.default.contents(atPath: dir + "/" + document)
            else { return [] }
            var results: [(Bool, String)] = []
            let expected = manifest["expected"] as? [String: Any] ?? [:]
            switch verifier.verifyDocument(bytes) {
            case .rejected(let failures):
                results.append((false, "sample rejected: \(failures.map(\.reason.rawValue))"))
            case .verified(let doc):
                var mismatches: [String] = []
                if expected["module_id"] as? String != doc.moduleID { mismatches.append("module_id") }
                for i in 0..<16 where (expected["pcr\(i)"] as? String).map({ $0 != Hex.encode(doc.pcrs[i] ?? Data()) }) ?? false {
                    mismatches.append("pcr\(i)")
                }
                results.append((mismatches.isEmpty, mismatches.isEmpty ? "sample verifies at as_of with the expected values" : "mismatched \(mismatches)"))
                var staleRejected = false
                if case .rejected = verifier.verify(Evidence(tee: .nitro, bytes: bytes), now: asOf.addingTimeInterval(86_400)) {
                    staleRejected = true
                }
                results.append((staleRejected, "rejected one day after as_of"))
            }
            results += negatives(manifest, dir: dir) { if case .rejected(let f) = verifier.verifyDocument($0) { return f } else { return nil } }
            return results
        }

        func runSNPManifest(_ manifest: [String: Any], dir: String) -> [(Bool, String)] {
            guard let files = manifest["files"] as? [String: String], let reportFile = files["report"], let vcekFile = files["vcek"],
                let chainFile = files["cert_chain"], let arkFile = files["ark"],
                let report = FileManager.default.contents(atPath: dir + "/" + reportFile),
                let vcekData = FileManager.default.contents(atPath: dir + "/" + vcekFile),
                let chainPEM = try? String(contentsOfFile: dir + "/" + chainFile, encoding: .utf8),
                let arkPEM = try? String(contentsOfFile: dir + "/" + arkFile, encoding: .utf8),
                let verifier = try? SNPAttestationVerifier(arkPEMs: [arkPEM]),
                let chain = try? AMDCertificate.pem(chainPEM),
                let asOf = (manifest["as_of"] as? String).flatMap(Self.date)
            else { return [(false, "sev-snp manifest incomplete")] }
            let vcek: AMDCertificate
            if vcekFile.hasSuffix(".pem"), let text = String(data: vcekData, encoding: .utf8), let first = try? AMDCertificate.pem(text).first {
                vcek = first
            } else if let parsed = try? AMDCertificate(der: vcekData) {
                vcek = parsed
            } else {
                return [(false, "VCEK does not parse")]
            }
            var results: [(Bool, String)] = []
            let expected = manifest["expected"] as? [String: Any] ?? [:]
            switch verifier.verify(report: report, vcek: vcek, chain: chain, at: asOf) {
            case .rejected(let failures):
                results.append((false, "sample rejected: \(failures.map(\.reason.rawValue))"))
            case .verified(let r):
                let ok = Hex.encode(r.measurement) == expected["measurement"] as? String && Hex.encode(r.reportData) == expected["report_data"] as? String
                results.append((ok, ok ? "sample verifies at as_of with the expected measurement and report data" : "expected values differ"))
            }
            var expired = false
            if case .rejected(let f) = verifier.verify(report: report, vcek: vcek, chain: chain, at: Date(timeIntervalSince1970: 1_500_000_000)),
                f.map(\.reason) == [.certificateExpired]
            { expired = true }
            results.append((expired, "rejected outside its certificates' validity"))
            results += negatives(manifest, dir: dir) { if case .rejected(let f) = verifier.verify(report: $0, vcek: vcek, chain: chain, at: asOf) { return f } else { return nil } }
            return results
        }

        func runTDXManifest(_ manifest: [String: Any], dir: String) -> [(Bool, String)] {
            guard let files = manifest["files"] as? [String: String], let quoteFile = files["quote"], let rootFile = files["root"],
                let quote = FileManager.default.contents(atPath: dir + "/" + quoteFile),
                let rootPEM = try? String(contentsOfFile: dir + "/" + rootFile, encoding: .utf8),
                let verifier = try? TDXAttestationVerifier(rootPEM: rootPEM),
                let asOf = (manifest["as_of"] as? String).flatMap(Self.date)
            else { return [(false, "tdx manifest incomplete")] }
            var results: [(Bool, String)] = []
            let expected = manifest["expected"] as? [String: Any] ?? [:]
            switch verifier.verifyQuote(quote, at: asOf) {
            case .rejected(let failures):
                results.append((false, "sample rejected: \(failures.map(\.reason.rawValue))"))
            case .verified(let q):
                let ok = Hex.encode(q.mrTD) == expected["mrtd"] as? String && Hex.encode(q.reportData) == expected["report_data"] as? String
                results.append((ok, ok ? "quote verifies at as_of with the expected MRTD and report data" : "expected values differ"))
                // The same loader as `attestation verify --collateral`, reading the manifest's `collateral` paths.
                let collateral = (try? CollateralFiles.tdx(directory: dir)) ?? TDXCollateral()
                if let pckCRL = collateral.pckCRL, let rootCRL = collateral.rootCACRL {
                    do {
                        try verifier.checkRevocation(quote: q, pckCRL: pckCRL, rootCRL: rootCRL, at: asOf)
                        results.append((true, "PCK CRL and Root CA CRL verify, are current and revoke nothing in the chain"))
                    } catch {
                        results.append((false, "revocation: \(error)"))
                    }
                }
                if let identity = collateral.qeIdentityJSON, let chain = collateral.tcbSigningChainPEM, let want = expected["qe_tcb_status"] as? String {
                    do {
                        let status = try verifier.qeStatus(quote: q, qeIdentityJSON: identity, signingChainPEM: chain, at: asOf)
                        results.append((status.rawValue == want, "QE Identity verifies; QE TCB \(status) (expected \(want))"))
                    } catch {
                        results.append((false, "QE Identity: \(error)"))
                    }
                }
                if let tcbInfo = collateral.tcbInfoJSON, let chain = collateral.tcbSigningChainPEM, let want = expected["tcb_status"] as? String {
                    do {
                        let status = try verifier.tcbStatus(quote: q, tcbInfoJSON: tcbInfo, signingChainPEM: chain, at: asOf)
                        let (policyOK, verdict) = productionVerdict(quote, collateral: collateral, verifier: verifier, expected: expected, at: asOf)
                        results.append((status.rawValue == want && policyOK, "TCB Info verifies; platform TCB \(status) (expected \(want)): \(verdict)"))
                    } catch {
                        results.append((false, "TCB Info: \(error)"))
                    }
                }
            }
            var expired = false
            if case .rejected(let f) = verifier.verifyQuote(quote, at: Date(timeIntervalSince1970: 1_000_000_000)), f.map(\.reason) == [.certificateExpired] {
                expired = true
            }
            results.append((expired, "rejected outside its PCK chain's validity"))
            results += negatives(manifest, dir: dir) { if case .rejected(let f) = verifier.verifyQuote($0, at: asOf) { return f } else { return nil } }
            return results
        }

        /// Appraises a TDX sample with its collateral under a production policy (its own MRTD and RTMRs, the
        /// default accepted statuses: `UpToDate` only, collateral required). The policy must affirm exactly the samples
        /// whose manifest gives `UpToDate` for both the platform and the QE, and refuse the others.
        func productionVerdict(_ quote: Data, collateral: TDXCollateral, verifier: TDXAttestationVerifier, expected: [String: Any], at: Date) -> (Bool, String) {
            var rated = verifier
            rated.collateral = collateral
            let evidence = Evidence(tee: .tdx, bytes: quote)
            guard case .verified(let claims) = rated.verify(evidence, now: at) else { return (false, "rejected by the verifier with its collateral") }
            let production = ReferenceValues(sets: [ReferenceValueSet(id: "production", tee: .tdx, measurements: [claims.measurement])], acceptMockEvidence: false)
            let result = Appraiser(referenceValues: production, verifiers: [rated]).appraise(evidence, reportData: .equals(claims.reportData), now: at)
            let shouldAffirm = expected["tcb_status"] as? String == "UpToDate" && expected["qe_tcb_status"] as? String == "UpToDate"
            let reasons = result.failures.map(\.reason.rawValue).joined(separator: ",")
            let verdict = result.status == .affirming ? "affirmed by a production policy" : "rejected by a production policy (\(reasons))"
            return ((result.status == .affirming) == shouldAffirm, verdict)
        }

        /// Runs the manifest's tampered copies: each must be rejected (`rejection` returns the failures, or nil
        /// when the copy was accepted).
        func negatives(_ manifest: [String: Any], dir: String, rejection: (Data) -> [AttestationFailure]?) -> [(Bool, String)] {
            (manifest["negatives"] as? [[String: Any]] ?? []).compactMap { negative in
                guard let file = negative["file"] as? String, let tampered = FileManager.default.contents(atPath: dir + "/" + file) else {
                    return nil
                }
                guard let failures = rejection(tampered) else { return (false, "\(file) was accepted") }
                return (true, "\(file) rejected: \(failures.map(\.reason.rawValue).joined(separator: ","))")
            }
        }
    }
}
