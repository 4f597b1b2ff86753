import Attestation
import Crypto
import Foundation
import SealgateCore
import SwiftASN1
import X509

/// The outcome of verifying a TDX quote.
public enum TDXVerification: Sendable {
    case verified(TDXQuote)
    case rejected([AttestationFailure])
}

/// Verifies Intel TDX DCAP quotes: the quote signature by the attestation key, the QE report signature by the
/// PCK key, the QE report's binding of the attestation key, and the PCK chain to the pinned Intel SGX Root CA at
/// the verification time. Collateral is checked by ``tcbStatus(quote:tcbInfoJSON:signingChainPEM:at:)``,
/// ``qeStatus(quote:qeIdentityJSON:signingChainPEM:at:)`` and ``checkRevocation(quote:pckCRL:rootCRL:at:)``.
public struct TDXAttestationVerifier: AttestationVerifier {
    public let tee = TEEType.tdx
    let pinnedRoots: Set<String>
    /// PCK chains that verified before (optional): repeated quotes from one platform then cost two P-256 verifications.
    public var chainCache: VerifiedChainCache?
    /// Intel PCS collateral (TCB Info, QE Identity, CRLs). With it, ``verify(_:now:)`` checks revocation and rates
    /// the platform and QE TCB into the claims; without it both ratings are ``TCBStatus/notEvaluated``.
    public var collateral: TDXCollateral?
    /// The PCK chain (PEM: leaf, PCK CA, root) for quotes that carry none (certification data other than type 5).
    /// A quote's own chain always wins. It is checked like an embedded one, so it adds no trust.
    public var pckChainPEM: String?

    /// A verifier trusting the Intel SGX Root CA (``VendorRoots/intelSGX``).
    public init() { pinnedRoots = VendorRoots.intelSGX }

    /// A verifier trusting exactly the given root certificate.
    public init(rootPEM: String) throws {
        do { pinnedRoots = [VendorRoots.fingerprint(try PEMDocument(pemString: rootPEM).derBytes)] } catch {
            throw AttestationError(.malformedEvidence, "the Intel root is not a PEM certificate")
        }
    }

    /// The pinned root a chain ends in, if it does.
    func pinnedRoot(_ certificate: Certificate) -> Bool {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate)) != nil else { return false }
        return pinnedRoots.contains(VendorRoots.fingerprint(serializer.serializedBytes))
    }

    public func verify(_ evidence: Evidence, now: Date) -> VerificationOutcome {
        switch verifyQuote(evidence.bytes, at: now) {
        case .rejected(let failures): return .rejected(failures)
        case .verified(let q):
            let rating: TDXRating
            do { rating = try rate(q, at: now) } catch { return .rejected([AttestationFailure(error.reason, error.message)]) }
            let measurement = Hex.encode(q.mrTD) + (0..<4).map { Hex.encode(q.rtmr($0)) }.joined()
            return .verified(
                VerifiedClaims(
                    tee: .tdx, measurement: measurement, reportData: q.reportData, initDataDigest: q.mrConfigID, debug: q.debug,
                    svn: Int(q.teeTCBSVN.first ?? 0), signerID: Hex.encode(q.attestationKey.prefix(8)),
                    tcbStatus: rating.tcb, qeStatus: rating.qe, migratable: q.migratable,
                    tdx: TDXGuestClaims(septVEDisabled: q.septVEDisabled, mrServiceTD: q.mrServiceTD)))
        }
    }

    /// Verifies a quote at `date`.
    public func verifyQuote(_ data: Data, at date: Date) -> TDXVerification {
        func reject(_ reason: AttestationReason, _ detail: String) -> TDXVerification { .rejected([AttestationFailure(reason, detail)]) }
        guard data.count <= 128 * 1024 else { return reject(.malformedEvidence, "quote larger than 128 KiB") }
        var quote: TDXQuote
        do { quote = try TDXQuote(data) } catch { return reject(.malformedEvidence, "\(error)") }
        if quote.pckChainData.isEmpty {
            guard let pckChainPEM else {
                return reject(.chainInvalid, "the quote carries no PCK chain (certification data type \(quote.certificationDataType)) and none was given")
            }
            quote.pckChainData = Data(pckChainPEM.utf8)
        }
        guard let attestationKey = try? P256.Signing.PublicKey(rawRepresentation: quote.attestationKey),
            let signature = try? P256.Signing.ECDSASignature(rawRepresentation: quote.signature),
            attestationKey.isValidSignature(signature, for: quote.signedRegion)
        else { return reject(.signatureInvalid, "the quote signature does not verify with the attestation key") }
        let chainKey = VendorRoots.fingerprint(quote.pckChainData)
        let pckKey: P256.Signing.PublicKey
        if let cached = chainCache?.leafKey(chainKey, at: date), let key = try? P256.Signing.PublicKey(rawRepresentation: cached) {
            pckKey = key
        } else {
            let chain: [Certificate]
            do {
                chain = try quote.pckCertificates()
            } catch {
                return reject(.malformedEvidence, "the embedded PCK chain does not parse")
            }
            guard chain.count == 3, pinnedRoot(chain[2]) else { return reject(.chainInvalid, "the PCK chain does not end in the pinned Intel SGX Root CA") }
            let root = chain[2]
            for i in 0..<2 {
                guard chain[i].issuer == chain[i + 1].subject, chain[i + 1].publicKey.isValidSignature(chain[i].signature, for: chain[i]) else {
                    return reject(.chainInvalid, "certificate \(i) of the PCK chain is not signed by the next")
                }
            }
            guard root.publicKey.isValidSignature(root.signature, for: root) else { return reject(.chainInvalid, "the root is not self-signed") }
            for (i, certificate) in chain.enumerated() where !(certificate.notValidBefore <= date && date <= certificate.notValidAfter) {
                return reject(.certificateExpired, "certificate \(i) of the PCK chain is not valid at the verification time")
            }
            guard let leafKey = P256.Signing.PublicKey(chain[0].publicKey) else {
                return reject(.malformedEvidence, "the PCK key is not P-256")
            }
            chainCache?.insert(
                chainKey, validFrom: chain.map(\.notValidBefore).max() ?? date, validUntil: chain.map(\.notValidAfter).min() ?? date,
                leafKey: leafKey.rawRepresentation)
            pckKey = leafKey
        }
        guard let qeSignature = try? P256.Signing.ECDSASignature(rawRepresentation: quote.qeReportSignature),
            pckKey.isValidSignature(qeSignature, for: quote.qeReport)
        else { return reject(.signatureInvalid, "the QE report signature does not verify with the PCK key") }
        var binding = quote.attestationKey
        binding.append(quote.qeAuthData)
        let qeReportData = quote.qeReport.subdata(in: 320..<384)
        guard qeReportData.prefix(32) == Data(SHA256.hash(data: binding)), qeReportData.suffix(32).allSatisfy({ $0 == 0 }) else {
            return reject(.reportDataMismatch, "the QE report does not bind the attestation key")
        }
        return .verified(quote)
    }
}
