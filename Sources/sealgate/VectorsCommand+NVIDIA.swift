import Attestation
import AttestationNVIDIA
import Foundation
import SealgateCore

extension VectorsCommand.Run {
    /// Runs an `nvidia-spdm` manifest: the report verifies at `as_of` with the expected nonces and lengths (also as an
    /// evidence bundle), it is rejected before its chain's validity, and every tampered copy gives `signature_invalid`.
    func runNVIDIAManifest(_ manifest: [String: Any], dir: String) -> [(Bool, String)] {
        let files = manifest["files"] as? [String: String] ?? [:]
        guard let asOf = (manifest["as_of"] as? String).flatMap(Self.date), let reportFile = files["report"],
            let report = FileManager.default.contents(atPath: dir + "/" + reportFile), let chainFile = files["cert_chain"],
            let chain = try? String(contentsOfFile: dir + "/" + chainFile, encoding: .utf8), let rootFile = files["root"],
            let rootPEM = try? String(contentsOfFile: dir + "/" + rootFile, encoding: .utf8),
            let verifier = try? NVIDIAAttestationVerifier(rootPEM: rootPEM)
        else { return [(false, "nvidia manifest incomplete")] }
        let expected = manifest["expected"] as? [String: Any] ?? [:]
        var results: [(Bool, String)] = []
        switch verifier.verify(report: report, certChainPEM: chain, at: asOf) {
        case .rejected(let failures):
            results.append((false, "sample rejected: \(failures.map(\.reason.rawValue))"))
        case .verified(let claims):
            let r = claims.report
            let ok = Hex.encode(r.requestNonce) == expected["request_nonce"] as? String
                && Hex.encode(r.responseNonce) == expected["response_nonce"] as? String
                && r.blocks.count == expected["number_of_blocks"] as? Int
                && r.measurementRecord.count == expected["measurement_record_length"] as? Int
                && r.opaqueData.count == expected["opaque_length"] as? Int
            results.append((ok, ok ? "report verifies at as_of (device chain, P-384 signature) with the expected nonces, \(r.blocks.count) blocks and lengths" : "expected values differ"))
            let bundle = (try? JSONEncoder().encode(NVIDIAEvidenceBundle(report: report, certChainPEM: chain))) ?? Data()
            let outcome = verifier.verify(Evidence(tee: .nvidia, bytes: bundle), now: asOf)
            results.append((outcome == .verified(claims.verifiedClaims), "the evidence bundle verifies to the same claims (report data = request nonce)"))
        }
        var expired = false
        if case .rejected(let f) = verifier.verify(report: report, certChainPEM: chain, at: Date(timeIntervalSince1970: 1_000_000_000)),
            f.map(\.reason) == [.certificateExpired]
        { expired = true }
        results.append((expired, "rejected outside its chain's validity"))
        for negative in manifest["negatives"] as? [[String: Any]] ?? [] {
            guard let name = negative["file"] as? String, let tampered = FileManager.default.contents(atPath: dir + "/" + name) else {
                results.append((false, "negative \(negative["file"] ?? "?") cannot be read"))
                continue
            }
            guard case .rejected(let failures) = verifier.verify(report: tampered, certChainPEM: chain, at: asOf) else {
                results.append((false, "\(name) was accepted"))
                continue
            }
            let reasons = failures.map(\.reason)
            let ok = reasons == [.signatureInvalid]
            results.append((ok, "\(name) rejected: \(reasons.map(\.rawValue).joined(separator: ","))\(ok ? "" : " (expected signature_invalid)")"))
        }
        return results
    }
}
