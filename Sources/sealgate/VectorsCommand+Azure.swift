import Attestation
import AttestationAzure
import AttestationSEVSNP
import AttestationTDX
import Foundation
import SealgateCore

extension VectorsCommand.Run {
    /// Runs an `azure-snp-vtpm` or `azure-tdx-vtpm` manifest: the sample verifies at `as_of` with the expected values
    /// (through the typed API and as evidence JSON, including Trustee's `evidence.json` as published), the appraisal
    /// binds the quote's nonce, the sample is rejected outside its certificates' validity, and every tampered copy is
    /// rejected with the reason its `expect_error` names.
    func runAzureManifest(_ manifest: [String: Any], dir: String) -> [(Bool, String)] {
        let isSNP = manifest["type"] as? String == "azure-snp-vtpm"
        func file(_ key: String) -> Data? {
            (manifest["files"] as? [String: String])?[key].flatMap { FileManager.default.contents(atPath: dir + "/" + $0) }
        }
        func text(_ key: String) -> String? { file(key).map { String(decoding: $0, as: UTF8.self) } }
        guard let asOf = (manifest["as_of"] as? String).flatMap(Self.date), let verifier = azureVerifier(isSNP: isSNP, text: text),
            let sample = azureEvidence(isSNP: isSNP, file: file)
        else { return [(false, "azure manifest incomplete")] }
        let expected = manifest["expected"] as? [String: Any] ?? [:]
        var results: [(Bool, String)] = []
        switch verifier.verify(sample, at: asOf) {
        case .rejected(let failures):
            results.append((false, "sample rejected: \(failures.map(\.reason.rawValue))"))
        case .verified(let claims):
            var mismatches: [String] = []
            let hardwareField = isSNP ? "measurement" : "mrtd"
            let hardwareValue: String
            switch claims.hardware {
            case .snp(let r): hardwareValue = Hex.encode(r.measurement)
            case .tdx(let q, _): hardwareValue = Hex.encode(q.mrTD)
            }
            if expected[hardwareField] as? String != hardwareValue { mismatches.append(hardwareField) }
            if expected["report_data"] as? String != Hex.encode(claims.hardwareReportData) { mismatches.append("report_data") }
            if expected["tpm_extra_data"] as? String != Hex.encode(claims.nonce) { mismatches.append("tpm_extra_data") }
            if expected["tpm_pcr_digest"] as? String != Hex.encode(claims.quote.pcrDigest) { mismatches.append("tpm_pcr_digest") }
            results.append(
                (mismatches.isEmpty, mismatches.isEmpty ? "sample verifies at as_of (hardware report, runtime-data binding, vTPM quote, PCRs) with the expected values" : "mismatched \(mismatches)"))
            let tee: TEEType = isSNP ? .azureSNPVTPM : .azureTDXVTPM
            if let trustee = FileManager.default.contents(atPath: dir + "/evidence.json") {
                let outcome = verifier.verify(Evidence(tee: tee, bytes: trustee), now: asOf)
                results.append((outcome == .verified(claims.verifiedClaims), "Trustee's evidence.json verifies to the same claims"))
            }
            var set = ReferenceValueSet(id: "azure-sample", tee: tee, measurements: [claims.measurement])
            // A TD's TCB is rated from Intel's collateral, which the sample does not carry: without it the appraisal
            // refuses (tcb_status_unknown); a set that skips the rating appraises it `warning`.
            if !isSNP { set.insecureSkipTCBStatus = true }
            let values = ReferenceValues(sets: [set], acceptMockEvidence: false)
            let appraiser = Appraiser(referenceValues: values, verifiers: [verifier])
            let evidence = Evidence(tee: tee, bytes: sample.json())
            let bound = appraiser.appraise(evidence, reportData: .equals(claims.nonce), now: asOf)
            var otherNonce = claims.nonce
            otherNonce.append(0)
            let unbound = appraiser.appraise(evidence, reportData: .equals(otherNonce), now: asOf)
            results.append(
                (bound.status == (isSNP ? .affirming : .warning) && unbound.failures.map(\.reason) == [.reportDataMismatch],
                    "appraisal: \(bound.status.rawValue) with the quote's nonce, \(unbound.failures.map(\.reason.rawValue).joined(separator: ",")) with another"))
        }
        var expired = false
        if case .rejected(let f) = verifier.verify(sample, at: Date(timeIntervalSince1970: 1_000_000_000)), f.map(\.reason) == [.certificateExpired] {
            expired = true
        }
        results.append((expired, "rejected outside its certificates' validity"))
        for negative in manifest["negatives"] as? [[String: Any]] ?? [] {
            guard let name = negative["file"] as? String, let key = negative["replaces"] as? String,
                let tampered = FileManager.default.contents(atPath: dir + "/" + name),
                let evidence = azureEvidence(isSNP: isSNP, file: { $0 == key ? tampered : file($0) })
            else {
                results.append((false, "negative \(negative["file"] ?? "?") cannot be read"))
                continue
            }
            let want = Self.azureReason(negative["expect_error"] as? String ?? "")
            guard case .rejected(let failures) = verifier.verify(evidence, at: asOf) else {
                results.append((false, "\(name) was accepted"))
                continue
            }
            let reasons = failures.map(\.reason)
            let ok = want.map { reasons == [$0] } ?? true
            results.append((ok, "\(name) rejected: \(reasons.map(\.rawValue).joined(separator: ","))\(ok ? "" : " (expected \(want?.rawValue ?? ""))")"))
        }
        return results
    }

    func azureVerifier(isSNP: Bool, text: (String) -> String?) -> AzureVTPMVerifier? {
        if isSNP {
            guard let ark = text("ark"), let chain = text("cert_chain"), let snp = try? SNPAttestationVerifier(arkPEMs: [ark]) else { return nil }
            return try? AzureVTPMVerifier(snp: snp, certChainPEMs: [chain])
        }
        guard let root = text("root"), let tdx = try? TDXAttestationVerifier(rootPEM: root) else { return nil }
        return AzureVTPMVerifier(tdx: tdx)
    }

    /// The evidence assembled from a manifest's files (`file` maps a manifest key to its bytes).
    func azureEvidence(isSNP: Bool, file: (String) -> Data?) -> AzureVTPMEvidence? {
        guard let hcl = file("hcl_report"), let message = file("tpm_quote_attest"), let signature = file("tpm_quote_sig"),
            let pcrJSON = file("tpm_pcrs"), let hex = try? JSONDecoder().decode([String].self, from: pcrJSON)
        else { return nil }
        let pcrs = hex.compactMap(Hex.decode)
        guard pcrs.count == hex.count else { return nil }
        var evidence = AzureVTPMEvidence(hclReport: hcl, tpmMessage: message, tpmSignature: signature, pcrs: pcrs)
        if isSNP {
            guard let vcek = file("vcek") else { return nil }
            let pem = (try? AMDCertificate.pem(String(decoding: vcek, as: UTF8.self)))?.first
            guard let certificate = pem ?? (try? AMDCertificate(der: vcek)) else { return nil }
            evidence.vcek = certificate.der
        } else {
            guard let quote = file("quote") else { return nil }
            evidence.tdQuote = quote
        }
        return evidence
    }

    /// The reason a manifest's `expect_error` text names, when it names one.
    static func azureReason(_ text: String) -> AttestationReason? {
        if text.contains("SHA-256(HCL runtime data)") { return .reportDataMismatch }
        if text.contains("signature invalid") { return .signatureInvalid }
        return nil
    }
}
