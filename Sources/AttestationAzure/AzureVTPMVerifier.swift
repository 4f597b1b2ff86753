import Attestation
import AttestationSEVSNP
import AttestationTDX
import Crypto
import Foundation
import SealgateCore
import _CryptoExtras

/// Verifies Azure confidential VM vTPM evidence (``AzureVTPMEvidence``) for SEV-SNP (`az-snp-vtpm`) or TDX
/// (`az-tdx-vtpm`). Pure: roots and AMD chains are fixed at creation.
///
/// Checks, in order; the first failure rejects with one reason:
/// 1. the evidence, HCL report, runtime data header and TPM quote parse (`malformed_evidence`); the HCL report type
///    is this verifier's platform and its hash type SHA-256 (`unsupported_evidence`);
/// 2. the hardware report: SNP with ``SNPAttestationVerifier`` (VCEK chain to a pinned ARK) and VMPL 0, since only
///    the paravisor runs there (`unknown_signer` otherwise); TDX: the DCAP quote with ``TDXAttestationVerifier``;
/// 3. the binding: REPORT_DATA[0..<32] = SHA-256(runtime data); for TDX the quote's and the TDREPORT's REPORTDATA are
///    equal (`report_data_mismatch`);
/// 4. the attestation key `HCLAkPub` from the runtime data is RSA ≥ 2048 bits (`malformed_evidence`);
/// 5. the vTPM signature over the `TPMS_ATTEST`: RSASSA-PKCS1-v1_5 or RSASSA-PSS with SHA-256 (`signature_invalid`);
/// 6. the quote selects only SHA-256 PCRs (`unsupported_evidence`), one value per selected PCR, 32 bytes each
///    (`malformed_evidence`), whose concatenation hashes to the signed PCR digest (`signature_invalid`).
///
/// The nonce (`extraData`) is not compared here: it is the claims' `reportData`, which the appraisal checks.
public struct AzureVTPMVerifier: AttestationVerifier {
    enum Platform: Sendable {
        case snp(SNPAttestationVerifier, chains: [[AMDCertificate]])
        case tdx(TDXAttestationVerifier)
    }

    public let tee: TEEType
    let platform: Platform

    /// An `az-snp-vtpm` verifier. `certChainPEMs` are AMD `cert_chain` files (ASK or ASVK, then ARK) used when the
    /// evidence carries none; the one whose ASK issued the VCEK is taken. The ARK must still be pinned by `snp`.
    /// - Throws: ``AttestationError`` (`malformed_evidence`) when a chain does not parse or does not hold two certificates.
    public init(snp: SNPAttestationVerifier = SNPAttestationVerifier(), certChainPEMs: [String]) throws {
        let chains = try certChainPEMs.map { pem -> [AMDCertificate] in
            guard let chain = try? AMDCertificate.pem(pem), chain.count == 2 else {
                throw AttestationError(.malformedEvidence, "an AMD cert_chain must hold the ASK (or ASVK) and the ARK")
            }
            return chain
        }
        tee = .azureSNPVTPM
        platform = .snp(snp, chains: chains)
    }

    /// An `az-tdx-vtpm` verifier over the given TDX quote verifier (default: the pinned Intel SGX Root CA).
    public init(tdx: TDXAttestationVerifier = TDXAttestationVerifier()) {
        tee = .azureTDXVTPM
        platform = .tdx(tdx)
    }

    public func verify(_ evidence: Evidence, now: Date) -> VerificationOutcome {
        let decoded: AzureVTPMEvidence
        do { decoded = try AzureVTPMEvidence(json: evidence.bytes) } catch {
            return .rejected([AttestationFailure(.malformedEvidence, "\(error)")])
        }
        switch verify(decoded, at: now) {
        case .verified(let claims): return .verified(claims.verifiedClaims)
        case .rejected(let failures): return .rejected(failures)
        }
    }

    /// Verifies decoded evidence at `date` and returns the typed claims.
    public func verify(_ evidence: AzureVTPMEvidence, at date: Date) -> AzureVTPMVerification {
        func reject(_ reason: AttestationReason, _ detail: String) -> AzureVTPMVerification { .rejected([AttestationFailure(reason, detail)]) }
        let hcl: HCLReport
        let quote: TPMQuote
        let signature: TPMSignature
        do {
            hcl = try HCLReport(evidence.hclReport)
            quote = try TPMQuote(evidence.tpmMessage)
            signature = try TPMSignature(evidence.tpmSignature)
        } catch {
            return reject(.malformedEvidence, "\(error)")
        }
        guard hcl.hashType == HCLReport.hashSHA256 else { return reject(.unsupportedEvidence, "HCL runtime data hash type \(hcl.hashType) is not SHA-256 (1)") }

        // The hardware report, then its binding of the runtime data.
        let hardware: AzureVTPMClaims.Hardware
        switch platform {
        case .snp(let verifier, let chains):
            guard hcl.reportType == .snp else { return reject(.unsupportedEvidence, "the HCL report holds a TDX report, not an SNP report") }
            guard let vcekDER = evidence.vcek, let vcek = try? AMDCertificate(der: vcekDER) else {
                return reject(.malformedEvidence, "az-snp-vtpm evidence needs a VCEK or VLEK certificate")
            }
            let chain: [AMDCertificate]
            if let pem = evidence.certChainPEM {
                guard let parsed = try? AMDCertificate.pem(pem) else { return reject(.malformedEvidence, "cert_chain is not PEM certificates") }
                chain = parsed
            } else {
                guard let match = chains.first(where: { $0.first?.subject == vcek.issuer }) else {
                    return reject(.chainInvalid, "no configured AMD cert_chain issued the VCEK")
                }
                chain = match
            }
            switch verifier.verify(report: hcl.hardwareReport, vcek: vcek, chain: chain, at: date) {
            case .rejected(let failures): return .rejected(failures)
            case .verified(let report):
                guard report.vmpl == 0 else {
                    return reject(.unknownSigner, "the SNP report comes from VMPL \(report.vmpl), not the paravisor's VMPL 0")
                }
                hardware = .snp(report)
            }
        case .tdx(let verifier):
            guard hcl.reportType == .tdx else { return reject(.unsupportedEvidence, "the HCL report holds an SNP report, not a TDX report") }
            guard let tdQuote = evidence.tdQuote else { return reject(.malformedEvidence, "az-tdx-vtpm evidence needs td_quote") }
            switch verifier.verifyQuote(tdQuote, at: date) {
            case .rejected(let failures): return .rejected(failures)
            case .verified(let q):
                guard q.reportData == hcl.tdReportData else {
                    return reject(.reportDataMismatch, "the TD quote's REPORTDATA differs from the HCL report's TDREPORT")
                }
                // Rated as the `tdx` verifier rates a quote (revocation, TCB Info, QE Identity): without it an Azure TD
                // on a revoked or out-of-date platform was affirmed where the same quote sent as `tdx` was refused.
                let rating: TDXRating
                do { rating = try verifier.rate(q, at: date) } catch { return .rejected([AttestationFailure(error.reason, error.message)]) }
                hardware = .tdx(q, rating)
            }
        }
        let reportData: Data
        switch hardware {
        case .snp(let r): reportData = r.reportData
        case .tdx(let q, _): reportData = q.reportData
        }
        guard reportData.prefix(32) == hcl.runtimeDataDigest else {
            return reject(.reportDataMismatch, "REPORT_DATA does not bind SHA-256(HCL runtime data)")
        }

        // The attestation key the (now bound) runtime data names, and the quote it signed.
        let runtime: AzureRuntimeData
        let key: _RSA.Signing.PublicKey
        do {
            runtime = try AzureRuntimeData(hcl.runtimeData)
            key = try _RSA.Signing.PublicKey(n: runtime.akModulus, e: runtime.akExponent)
        } catch let error as AzureVTPMError {
            return reject(.malformedEvidence, "\(error)")
        } catch {
            return reject(.malformedEvidence, "HCLAkPub is not an RSA key of at least 2048 bits")
        }
        let padding: _RSA.Signing.Padding = signature.scheme == .rsaPSS ? .PSS : .insecurePKCS1v1_5
        guard key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature.value), for: SHA256.hash(data: quote.raw), padding: padding)
        else { return reject(.signatureInvalid, "the TPM quote signature does not verify with HCLAkPub") }

        guard let indices = quote.sha256Indices else { return reject(.unsupportedEvidence, "the TPM quote selects PCR banks other than SHA-256, or none") }
        guard evidence.pcrs.count == indices.count, evidence.pcrs.allSatisfy({ $0.count == 32 }) else {
            return reject(.malformedEvidence, "the evidence carries \(evidence.pcrs.count) PCR values for \(indices.count) selected SHA-256 PCRs")
        }
        guard quote.digestMatches(evidence.pcrs) else {
            return reject(.signatureInvalid, "the PCR values do not hash to the quote's signed PCR digest")
        }
        var pcrs: [Int: Data] = [:]
        for (index, value) in zip(indices, evidence.pcrs) { pcrs[index] = value }
        return .verified(AzureVTPMClaims(tee: tee, hardware: hardware, hcl: hcl, runtimeData: runtime, quote: quote, pcrs: pcrs))
    }
}
