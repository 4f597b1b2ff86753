// Intel TDX: every input is parsed as a DCAP quote (v4/v5) with every field read, verified through `verifyQuote`
// and through the AttestationVerifier protocol by a verifier holding the collateral of the sample the input most
// resembles (so a quote that verifies is rated), at that sample's time; a quote that verifies also goes through
// the collateral calls one by one (tcbStatus, qeStatus, checkRevocation).
import Attestation
import AttestationTDX
import Foundation
import FuzzSupport

struct Sample {
    let name: String
    let quote: Data
    let asOf: Date
    let tcbInfo: Data?
    let qeIdentity: Data?
    let signingChain: String?
    let pckCRL: Data?
    let rootCRL: Data?
}

func check(_ site: String, _ outcome: TDXVerification) {
    if case .rejected(let failures) = outcome { Fuzz.rejection(site, reasons: failures.map(\.reason.rawValue)) }
}

func check(_ site: String, _ outcome: VerificationOutcome) {
    if case .rejected(let failures) = outcome { Fuzz.rejection(site, reasons: failures.map(\.reason.rawValue)) }
}

func isTDXTyped(_ error: any Error) -> Bool { error is TDXError || error is AttestationError }

@main
enum FuzzTDX {
    static func main() {
        let vectors = Vectors()
        let samples: [Sample] = vectors.samples("tdx").compactMap { s in
            guard let quote = s.data("quote") else { return nil }
            return Sample(
                name: s.name, quote: quote, asOf: s.asOf, tcbInfo: s.data("tcb_info"),
                qeIdentity: s.data("qe_identity"),
                signingChain: s.text("tcb_signing_chain"), pckCRL: s.data("pck_crl"), rootCRL: s.data("root_ca_crl"))
        }
        Fuzz.log("FuzzTDX: \(samples.count) TDX samples from \(vectors.root?.path ?? "(no shared vectors)")")
        var verifier = TDXAttestationVerifier()
        verifier.chainCache = VerifiedChainCache()
        // One verifier per sample with that sample's collateral (and its PCK chain, for quotes that carry none), as
        // the broker runs them: verify(_:now:) then rates the platform and QE TCB of a quote that verifies.
        let rated: [String: TDXAttestationVerifier] = Dictionary(
            uniqueKeysWithValues: samples.map { s in
                var v = TDXAttestationVerifier()
                v.chainCache = VerifiedChainCache()
                v.collateral = TDXCollateral(
                    tcbInfoJSON: s.tcbInfo, qeIdentityJSON: s.qeIdentity, tcbSigningChainPEM: s.signingChain,
                    pckCRL: s.pckCRL, rootCACRL: s.rootCRL)
                v.pckChainPEM = (try? TDXQuote(s.quote))?.pckChainPEM
                return (s.name, v)
            })
        let fallbackDate = Date(timeIntervalSince1970: 1_750_377_600)  // 2025-06-20

        Fuzz.run("FuzzTDX") { data in
            let sample = samples.max { Vectors.commonPrefix($0.quote, data) < Vectors.commonPrefix($1.quote, data) }
            let date = sample?.asOf ?? fallbackDate

            // 1. The parser and every accessor.
            if let quote = Fuzz.typed("TDXQuote.init", isTDXTyped, { try TDXQuote(data) }) {
                _ = (
                    quote.version, quote.signedRegion, quote.signature, quote.attestationKey, quote.qeReport,
                    quote.qeReportSignature
                )
                _ = (
                    quote.teeTCBSVN, quote.mrSeam, quote.mrSignerSeam, quote.tdAttributes, quote.xfam, quote.mrTD,
                    quote.mrConfigID
                )
                _ = (
                    quote.mrOwner, quote.mrOwnerConfig, quote.reportData, quote.debug, quote.qeAuthData,
                    quote.pckChainPEM, quote.certificationDataType
                )
                for i in 0..<4 { _ = quote.rtmr(i) }
                _ = try? quote.pckCertificates()  // documented to throw whatever the PEM/X.509 parser throws
            }

            // 2. The verifier, directly and through the protocol.
            let outcome = verifier.verifyQuote(data, at: date)
            check("TDXAttestationVerifier.verifyQuote", outcome)
            if let sample, let withCollateral = rated[sample.name] {
                check(
                    "TDXAttestationVerifier.verify(_:now:) with collateral",
                    withCollateral.verify(Evidence(tee: .tdx, bytes: data), now: date))
            }

            // 3. Collateral checks of a quote that verified (their documented input), with the sample's collateral.
            guard case .verified(let quote) = outcome, let sample else { return }
            if let tcbInfo = sample.tcbInfo, let chain = sample.signingChain {
                Fuzz.typed("TDXAttestationVerifier.tcbStatus", { $0 is AttestationError }) {
                    _ = try verifier.tcbStatus(quote: quote, tcbInfoJSON: tcbInfo, signingChainPEM: chain, at: date)
                }
            }
            if let qeIdentity = sample.qeIdentity, let chain = sample.signingChain {
                Fuzz.typed("TDXAttestationVerifier.qeStatus", { $0 is AttestationError }) {
                    _ = try verifier.qeStatus(
                        quote: quote, qeIdentityJSON: qeIdentity, signingChainPEM: chain, at: date)
                }
            }
            if let pckCRL = sample.pckCRL, let rootCRL = sample.rootCRL {
                Fuzz.typed("TDXAttestationVerifier.checkRevocation", { $0 is AttestationError }) {
                    try verifier.checkRevocation(quote: quote, pckCRL: pckCRL, rootCRL: rootCRL, at: date)
                }
            }
        }
    }
}
