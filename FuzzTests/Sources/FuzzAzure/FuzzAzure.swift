// Azure confidential VM vTPM evidence: every input is decoded as the evidence JSON and verified by the az-snp-vtpm
// and az-tdx-vtpm verifiers (through the AttestationVerifier protocol) at the closest sample's time, and parsed as
// each binary part on its own: the HCL report, its runtime data, the TPMS_ATTEST quote and the TPMT_SIGNATURE.
import Attestation
import AttestationAzure
import AttestationSEVSNP
import AttestationTDX
import Foundation
import FuzzSupport

func check(_ site: String, _ outcome: VerificationOutcome) {
    if case .rejected(let failures) = outcome { Fuzz.rejection(site, reasons: failures.map(\.reason.rawValue)) }
}

func isAzureTyped(_ error: any Error) -> Bool {
    error is AzureVTPMError || error is AttestationError || error is SNPError || error is TDXError
}

@main
enum FuzzAzure {
    static func main() {
        let vectors = Vectors()
        let samples = vectors.samples("azure").compactMap { s in
            s.data("hcl_report").map {
                (s, $0, (try? Data(contentsOf: s.directory.appendingPathComponent("evidence.json"))) ?? Data())
            }
        }
        let chains = ["sev-snp/roots/cert_chain-genoa.pem", "sev-snp/roots/cert_chain-milan.pem"].compactMap {
            vectors.data($0)
        }.map { String(decoding: $0, as: UTF8.self) }
        Fuzz.log(
            "FuzzAzure: \(samples.count) Azure samples, \(chains.count) AMD chains from \(vectors.root?.path ?? "(no shared vectors)")"
        )
        var snp = SNPAttestationVerifier()
        snp.chainCache = VerifiedChainCache()
        var tdx = TDXAttestationVerifier()
        tdx.chainCache = VerifiedChainCache()
        guard let snpVerifier = try? AzureVTPMVerifier(snp: snp, certChainPEMs: chains) else {
            Fuzz.log("FuzzAzure: the AMD cert_chain files do not parse")
            exit(2)
        }
        let tdxVerifier = AzureVTPMVerifier(tdx: tdx)
        let fallbackDate = samples.first?.0.asOf ?? Date(timeIntervalSince1970: 1_748_736_000)

        Fuzz.run("FuzzAzure") { data in
            let sample = samples.max {
                max(Vectors.commonPrefix($0.2, data), Vectors.commonPrefix($0.1, data))
                    < max(Vectors.commonPrefix($1.2, data), Vectors.commonPrefix($1.1, data))
            }
            let date = sample?.0.asOf ?? fallbackDate

            // 1. The evidence JSON, and both verifiers through the protocol.
            if let evidence = Fuzz.typed(
                "AzureVTPMEvidence.init(json:)", isAzureTyped, { try AzureVTPMEvidence(json: data) })
            {
                _ = evidence.json()
            }
            check(
                "AzureVTPMVerifier(az-snp-vtpm).verify",
                snpVerifier.verify(Evidence(tee: .azureSNPVTPM, bytes: data), now: date))
            check(
                "AzureVTPMVerifier(az-tdx-vtpm).verify",
                tdxVerifier.verify(Evidence(tee: .azureTDXVTPM, bytes: data), now: date))

            // 2. Each binary part.
            if let hcl = Fuzz.typed("HCLReport.init", isAzureTyped, { try HCLReport(data) }) {
                _ = (hcl.version, hcl.reportType, hcl.hashType, hcl.hardwareReport)
                if let runtime = Fuzz.typed(
                    "AzureRuntimeData.init(from HCL)", isAzureTyped, { try AzureRuntimeData(hcl.runtimeData) })
                {
                    _ = (runtime.akModulus, runtime.akExponent, runtime.userData, runtime.vmConfiguration)
                }
            }
            Fuzz.typed("AzureRuntimeData.init", isAzureTyped) { _ = try AzureRuntimeData(data) }
            if let quote = Fuzz.typed("TPMQuote.init", isAzureTyped, { try TPMQuote(data) }) {
                _ = quote.digestMatches(
                    Array(repeating: Data(count: 32), count: quote.selections.reduce(0) { $0 + $1.indices.count }))
            }
            Fuzz.typed("TPMSignature.init", isAzureTyped) { _ = try TPMSignature(data) }
        }
    }
}
