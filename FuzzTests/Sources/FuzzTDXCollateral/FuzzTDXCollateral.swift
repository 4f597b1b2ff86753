// Intel PCS collateral: every input is tried as TCB Info JSON and as QE Identity JSON (verified with the real TCB
// signing chain and the Intel SGX Root CA at the sample's time, then matched against the sample's quote), as each
// part of a verifier's TDXCollateral (rate(_:at:), the broker's path), as a CRL (DER), as a PCK certificate (its SGX
// extension), and as the TCB signing chain PEM of real TCB Info.
import Attestation
import AttestationTDX
import Foundation
import FuzzSupport
import X509

struct Sample {
    let name: String
    let asOf: Date
    let quote: TDXQuote
    let chain: [Certificate]
    let tcbInfo: Data?
    let qeIdentity: Data?
    let signingChain: String
}

@main
enum FuzzTDXCollateral {
    static func main() {
        let vectors = Vectors()
        let root = vectors.data("tdx/roots/intel-sgx-root-ca.pem").flatMap {
            try? Certificate(pemEncoded: String(decoding: $0, as: UTF8.self))
        }
        let samples: [Sample] = vectors.samples("tdx").compactMap { s in
            guard let bytes = s.data("quote"), let quote = try? TDXQuote(bytes),
                let chain = try? quote.pckCertificates(), chain.count == 3,
                let signingChain = s.text("tcb_signing_chain")
            else { return nil }
            return Sample(
                name: s.name, asOf: s.asOf, quote: quote, chain: chain, tcbInfo: s.data("tcb_info"),
                qeIdentity: s.data("qe_identity"),
                signingChain: signingChain)
        }
        guard let root, !samples.isEmpty else {
            Fuzz.log(
                "FuzzTDXCollateral: needs the shared vectors (tdx/roots/intel-sgx-root-ca.pem and a sample with collateral)"
            )
            exit(2)
        }
        Fuzz.log("FuzzTDXCollateral: \(samples.count) TDX samples with collateral from \(vectors.root?.path ?? "")")
        let typed: (any Error) -> Bool = { $0 is AttestationError }

        func closest(_ data: Data, _ file: (Sample) -> Data?) -> Sample? {
            samples.filter { file($0) != nil }.max {
                Vectors.commonPrefix(file($0)!, data) < Vectors.commonPrefix(file($1)!, data)
            }
        }

        Fuzz.run("FuzzTDXCollateral") { data in
            // 1. TCB Info, then TCB level matching with the sample's PCK certificate and TEE_TCB_SVN.
            if let s = closest(data, \.tcbInfo),
                let info = Fuzz.typed(
                    "TDXTCBInfo.init", typed,
                    { try TDXTCBInfo(json: data, signingChainPEM: s.signingChain, root: root, at: s.asOf) }),
                let pck = Fuzz.typed("PCKExtensions.init", typed, { try PCKExtensions(s.chain[0]) })
            {
                Fuzz.typed("TDXTCBInfo.status", typed) { _ = try info.status(pck: pck, teeTCBSVN: s.quote.teeTCBSVN) }
            }

            // 2. QE Identity, then the QE status of the sample's QE report.
            if let s = closest(data, \.qeIdentity),
                let identity = Fuzz.typed(
                    "TDXQEIdentity.init", typed,
                    { try TDXQEIdentity(json: data, signingChainPEM: s.signingChain, root: root, at: s.asOf) })
            {
                Fuzz.typed("TDXQEIdentity.status", typed) { _ = try identity.status(qeReport: s.quote.qeReport) }
            }

            // 2b. The same input through TDXAttestationVerifier.rate, as the broker's collateral (typed throws).
            let asTCBInfo = closest(data, \.tcbInfo).map {
                ($0, TDXCollateral(tcbInfoJSON: data, tcbSigningChainPEM: $0.signingChain))
            }
            let asQEIdentity = closest(data, \.qeIdentity).map {
                ($0, TDXCollateral(qeIdentityJSON: data, tcbSigningChainPEM: $0.signingChain))
            }
            let asCRLs = samples.first.map { ($0, TDXCollateral(pckCRL: data, rootCACRL: data)) }
            for case (let s, let collateral)? in [asTCBInfo, asQEIdentity, asCRLs] {
                var verifier = TDXAttestationVerifier()
                verifier.collateral = collateral
                _ = try? verifier.rate(s.quote, at: s.asOf)
            }

            // 3. A CRL: parse, issuer and signature checks against the real chain, revocation lookups.
            if let crl = Fuzz.typed("IntelCRL.init", typed, { try IntelCRL(der: data) }), let s = samples.first {
                for certificate in s.chain { _ = crl.revokes(certificate) }
                Fuzz.typed("IntelCRL.verify(PCK CA)", typed) { try crl.verify(issuedBy: s.chain[1], at: s.asOf) }
                Fuzz.typed("IntelCRL.verify(root)", typed) { try crl.verify(issuedBy: root, at: s.asOf) }
            }

            // 4. A certificate's SGX extension (what TCB matching reads from the PCK leaf).
            if let certificate = try? Certificate(derEncoded: [UInt8](data)),
                let s = samples.first(where: { $0.tcbInfo != nil }), let json = s.tcbInfo,
                let info = try? TDXTCBInfo(json: json, signingChainPEM: s.signingChain, root: root, at: s.asOf),
                let pck = Fuzz.typed(
                    "PCKExtensions.init(fuzzed certificate)", typed, { try PCKExtensions(certificate) })
            {
                Fuzz.typed("TDXTCBInfo.status(fuzzed PCK)", typed) {
                    _ = try info.status(pck: pck, teeTCBSVN: s.quote.teeTCBSVN)
                }
            }

            // 5. The TCB signing chain PEM of real TCB Info (collateral comes from the network or a directory).
            if data.starts(with: Data("-----BEGIN".utf8)), let s = samples.first(where: { $0.tcbInfo != nil }),
                let json = s.tcbInfo
            {
                let text = String(decoding: data, as: UTF8.self)
                var verifier = TDXAttestationVerifier()
                verifier.collateral = TDXCollateral(
                    tcbInfoJSON: json, qeIdentityJSON: s.qeIdentity, tcbSigningChainPEM: text)
                _ = try? verifier.rate(s.quote, at: s.asOf)
                Fuzz.typed("TDXTCBInfo.init(fuzzed signing chain)", typed) {
                    _ = try TDXTCBInfo(json: json, signingChainPEM: text, root: root, at: s.asOf)
                }
            }
        }
    }
}
