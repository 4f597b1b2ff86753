// AMD SEV-SNP: every input is tried as an evidence bundle (JSON: report, vcek, cert_chain) through the
// AttestationVerifier protocol, as a raw 1184-byte report (parser, then the verifier with a real VCEK and chain
// from the shared vectors), as an AMD certificate (DER) and as a PEM chain.
import Attestation
import AttestationSEVSNP
import Foundation
import FuzzSupport

struct Sample {
    let name: String
    let report: Data
    let vcek: AMDCertificate
    let chain: [AMDCertificate]
    let chainPEM: String
    let asOf: Date
}

func certificates(_ data: Data) -> [AMDCertificate] {
    if data.starts(with: Data("-----BEGIN".utf8)) {
        return (try? AMDCertificate.pem(String(decoding: data, as: UTF8.self))) ?? []
    }
    return (try? AMDCertificate(der: data)).map { [$0] } ?? []
}

func isSNPTyped(_ error: any Error) -> Bool { error is SNPError || error is AttestationError }

func check(_ site: String, _ outcome: SNPVerification) {
    if case .rejected(let failures) = outcome { Fuzz.rejection(site, reasons: failures.map(\.reason.rawValue)) }
}

func check(_ site: String, _ outcome: VerificationOutcome) {
    if case .rejected(let failures) = outcome { Fuzz.rejection(site, reasons: failures.map(\.reason.rawValue)) }
}

@main
enum FuzzSNP {
    static func main() {
        let vectors = Vectors()
        let samples: [Sample] = vectors.samples("sev-snp").compactMap { s in
            guard let report = s.data("report"), let vcekData = s.data("vcek"), let vcek = certificates(vcekData).first,
                let chainPEM = s.text("cert_chain"), let chain = try? AMDCertificate.pem(chainPEM), chain.count == 2
            else { return nil }
            return Sample(name: s.name, report: report, vcek: vcek, chain: chain, chainPEM: chainPEM, asOf: s.asOf)
        }
        Fuzz.log("FuzzSNP: \(samples.count) SEV-SNP samples from \(vectors.root?.path ?? "(no shared vectors)")")
        var verifier = SNPAttestationVerifier()
        verifier.chainCache = VerifiedChainCache()  // the three RSA-4096 chain checks once per chain, not per input
        let fallbackDate = Date(timeIntervalSince1970: 1_717_200_000)  // 2024-06-01

        // The sample an input most likely came from: the longest common prefix with its report.
        func sample(forReport bytes: Data) -> Sample? {
            samples.max { Vectors.commonPrefix($0.report, bytes) < Vectors.commonPrefix($1.report, bytes) }
        }

        Fuzz.run(
            "FuzzSNP",
            seeds: {
                var seeds: [String: Data] = [:]
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                for s in samples {
                    let bundle = SNPEvidenceBundle(
                        report: s.report, vcekPEM: Vectors.pem(s.vcek.der), certChainPEM: s.chainPEM)
                    seeds["bundle-\(s.name).json"] = try? encoder.encode(bundle)
                }
                return seeds
            },
            body: { data in
                // 1. The evidence bundle, as the broker receives it.
                var date = fallbackDate
                if let bundle = try? JSONDecoder().decode(SNPEvidenceBundle.self, from: data),
                    let report = Data(base64Encoded: bundle.report),
                    let s = sample(forReport: report)
                {
                    date = s.asOf
                }
                check(
                    "SNPAttestationVerifier.verify(_:now:)",
                    verifier.verify(Evidence(tee: .snp, bytes: data), now: date))

                // 2. The report parser and every derived field.
                if let report = Fuzz.typed("SNPReport.init", isSNPTyped, { try SNPReport(data) }) {
                    _ = (
                        report.debugAllowed, report.migrationAgentAllowed, report.smtAllowed, report.reportedTCBParts,
                        report.signatureRS
                    )
                    _ = (
                        report.version, report.guestSVN, report.policy, report.vmpl, report.currentTCB,
                        report.platformInfo, report.signingKey
                    )
                    if let s = sample(forReport: data) {
                        check(
                            "SNPAttestationVerifier.verify(report:)",
                            verifier.verify(report: data, vcek: s.vcek, chain: s.chain, at: s.asOf))
                    }
                }

                // 3. An AMD KDS certificate (VCEK, VLEK, ASK, ARK) in DER, used as the VCEK of a real report.
                if let certificate = Fuzz.typed(
                    "AMDCertificate.init(der:)", isSNPTyped, { try AMDCertificate(der: data) })
                {
                    _ = certificate.isValid(at: date)
                    for oid in [
                        "1.3.6.1.4.1.3704.1.3.1", "1.3.6.1.4.1.3704.1.3.2", "1.3.6.1.4.1.3704.1.3.3",
                        "1.3.6.1.4.1.3704.1.3.8",
                    ] {
                        _ = certificate.integerExtension(oid)
                    }
                    if let s = samples.first {
                        _ = certificate.isSigned(by: s.chain[0])
                        check(
                            "SNPAttestationVerifier.verify(report:) with a fuzzed VCEK",
                            verifier.verify(report: s.report, vcek: certificate, chain: s.chain, at: s.asOf))
                    }
                }

                // 4. PEM text: a cert_chain (ASK, ARK) or a VCEK followed by its chain.
                let text = String(decoding: data, as: UTF8.self)
                if let pem = Fuzz.typed("AMDCertificate.pem", isSNPTyped, { try AMDCertificate.pem(text) }),
                    pem.count >= 2, let s = samples.first
                {
                    check(
                        "SNPAttestationVerifier.verify(report:) with a fuzzed chain",
                        verifier.verify(report: s.report, vcek: pem[0], chain: Array(pem.suffix(2)), at: s.asOf))
                }
                Fuzz.typed("SNPAttestationVerifier.init(arkPEMs:)", isSNPTyped) {
                    _ = try SNPAttestationVerifier(arkPEMs: [text])
                }
            })
    }
}
