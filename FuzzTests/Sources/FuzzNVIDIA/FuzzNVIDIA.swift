// NVIDIA H100: every input is parsed as an SPDM GET_MEASUREMENTS request + response, verified with the real device
// chain at the sample's time, verified as an evidence bundle (JSON: report, cert_chain) through the protocol, and
// used as the PEM device chain of the real report.
import Attestation
import AttestationNVIDIA
import Foundation
import FuzzSupport

func check(_ site: String, _ outcome: VerificationOutcome) {
    if case .rejected(let failures) = outcome { Fuzz.rejection(site, reasons: failures.map(\.reason.rawValue)) }
}

func check(_ site: String, _ outcome: NVIDIAVerification) {
    if case .rejected(let failures) = outcome { Fuzz.rejection(site, reasons: failures.map(\.reason.rawValue)) }
}

@main
enum FuzzNVIDIA {
    static func main() {
        let vectors = Vectors()
        let samples = vectors.samples("nvidia").compactMap { s in
            s.data("report").flatMap { report in s.text("cert_chain").map { (report, $0, s.asOf) } }
        }
        Fuzz.log("FuzzNVIDIA: \(samples.count) NVIDIA samples from \(vectors.root?.path ?? "(no shared vectors)")")
        let verifier = NVIDIAAttestationVerifier()
        let date = samples.first?.2 ?? Date(timeIntervalSince1970: 1_704_067_200)
        let isTyped: (any Error) -> Bool = { $0 is NVIDIAError || $0 is AttestationError }

        Fuzz.run(
            "FuzzNVIDIA",
            seeds: {
                var seeds: [String: Data] = [:]
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                for (i, sample) in samples.enumerated() {
                    seeds["bundle-\(i).json"] = try? encoder.encode(
                        NVIDIAEvidenceBundle(report: sample.0, certChainPEM: sample.1))
                }
                return seeds
            },
            body: { data in
                if let report = Fuzz.typed("SPDMMeasurementReport.init", isTyped, { try SPDMMeasurementReport(data) }) {
                    _ = (
                        report.requestNonce, report.requestedOperation, report.responseNonce, report.blocks,
                        report.opaqueData
                    )
                    _ = (report.measurementRecord, report.signedRegion, report.signature)
                }
                if let sample = samples.first {
                    check(
                        "NVIDIAAttestationVerifier.verify(report:)",
                        verifier.verify(report: data, certChainPEM: sample.1, at: sample.2))
                    if data.starts(with: Data("-----BEGIN".utf8)) {
                        check(
                            "NVIDIAAttestationVerifier.verify(fuzzed chain)",
                            verifier.verify(
                                report: sample.0, certChainPEM: String(decoding: data, as: UTF8.self), at: sample.2))
                    }
                }
                check(
                    "NVIDIAAttestationVerifier.verify(_:now:)",
                    verifier.verify(Evidence(tee: .nvidia, bytes: data), now: date))
            })
    }
}
