import Attestation
import Foundation

/// Intel PCS collateral for TDX quotes, as bytes: the verifier stays pure, whoever builds this reads the files
/// (`sealgate attestation verify --collateral DIR`, `sealgate vectors run`). Every part is optional; a part that
/// is given must verify.
public struct TDXCollateral: Sendable, Equatable {
    /// `tcb_info.json`: `{"tcbInfo": {...}, "signature": "<hex>"}` exactly as Intel PCS serves it.
    public var tcbInfoJSON: Data?
    /// `qe_identity.json`: `{"enclaveIdentity": {...}, "signature": "<hex>"}`.
    public var qeIdentityJSON: Data?
    /// The TCB signing chain (PEM) that signs both JSON files (PCS header `TCB-Info-Issuer-Chain`).
    public var tcbSigningChainPEM: String?
    /// The PCK CRL (DER), issued by the PCK Platform/Processor CA.
    public var pckCRL: Data?
    /// The Intel SGX Root CA CRL (DER).
    public var rootCACRL: Data?

    /// Creates collateral from its parts.
    public init(
        tcbInfoJSON: Data? = nil, qeIdentityJSON: Data? = nil, tcbSigningChainPEM: String? = nil, pckCRL: Data? = nil,
        rootCACRL: Data? = nil
    ) {
        self.tcbInfoJSON = tcbInfoJSON
        self.qeIdentityJSON = qeIdentityJSON
        self.tcbSigningChainPEM = tcbSigningChainPEM
        self.pckCRL = pckCRL
        self.rootCACRL = rootCACRL
    }

    /// Whether both CRLs are present (otherwise revocation is checked only partly or not at all).
    public var hasCRLs: Bool { pckCRL != nil && rootCACRL != nil }
}

/// The platform and QE statuses of a verified quote.
public struct TDXRating: Sendable, Equatable {
    /// Platform TCB status from TCB Info, or ``TCBStatus/notEvaluated``.
    public let tcb: TCBStatus
    /// QE status from QE Identity, or ``TCBStatus/notEvaluated``.
    public let qe: TCBStatus
}

extension TDXAttestationVerifier {
    /// Rates a verified quote with ``collateral`` at `date`: the CRLs given must verify and revoke nothing in the
    /// chain; TCB Info and QE Identity, when given, must verify and yield the statuses. A missing part leaves its
    /// status ``TCBStatus/notEvaluated``, which the appraisal refuses unless the set says `insecure_skip_tcb_status`.
    /// - Throws: ``AttestationError`` with the first failed check (`certificate_revoked`, `chain_invalid`,
    ///   `signature_invalid`, `evidence_expired`, `certificate_expired`, `measurement_unknown`, `malformed_evidence`).
    public func rate(_ quote: TDXQuote, at date: Date) throws(AttestationError) -> TDXRating {
        guard let collateral else { return TDXRating(tcb: .notEvaluated, qe: .notEvaluated) }
        do {
            if collateral.pckCRL != nil || collateral.rootCACRL != nil {
                try checkRevocation(quote: quote, pckCRL: collateral.pckCRL, rootCRL: collateral.rootCACRL, at: date)
            }
            var tcb = TCBStatus.notEvaluated
            var qe = TCBStatus.notEvaluated
            if collateral.tcbInfoJSON != nil || collateral.qeIdentityJSON != nil {
                guard let chain = collateral.tcbSigningChainPEM else {
                    throw AttestationError(.malformedEvidence, "TCB Info or QE Identity given without the TCB signing chain")
                }
                if let json = collateral.tcbInfoJSON {
                    tcb = try tcbStatus(quote: quote, tcbInfoJSON: json, signingChainPEM: chain, at: date)
                }
                if let json = collateral.qeIdentityJSON {
                    qe = try qeStatus(quote: quote, qeIdentityJSON: json, signingChainPEM: chain, at: date)
                }
            }
            return TDXRating(tcb: tcb, qe: qe)
        } catch let error as AttestationError {
            throw error
        } catch {
            throw AttestationError(.malformedEvidence, "TDX collateral does not parse")
        }
    }
}
