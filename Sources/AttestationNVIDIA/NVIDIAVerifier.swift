import Attestation
import Crypto
import Foundation
import SealgateCore
import SwiftASN1
import X509

extension TEEType {
    /// NVIDIA GPU (Hopper) SPDM measurement report with its device certificate chain.
    public static let nvidia = TEEType("nvidia")
}

/// NVIDIA evidence as the verifier receives it: the report and the device certificate chain.
public struct NVIDIAEvidenceBundle: Codable, Sendable {
    /// Base64 of the SPDM request + response.
    public var report: String
    /// The device chain, PEM, leaf first and the NVIDIA Device Identity CA last.
    public var certChain: String

    enum CodingKeys: String, CodingKey {
        case report
        case certChain = "cert_chain"
    }

    public init(report: Data, certChainPEM: String) {
        self.report = report.base64EncodedString()
        self.certChain = certChainPEM
    }
}

/// Claims from a verified NVIDIA report.
public struct NVIDIAClaims: Sendable {
    public let report: SPDMMeasurementReport
    /// The device certificate chain, leaf first.
    public let chain: [Certificate]

    /// The common claims: `measurement` is SHA-384 of the measurement record (the blocks themselves are in
    /// ``report``), `reportData` the request nonce, `signerID` the leaf certificate's serial number.
    public var verifiedClaims: VerifiedClaims {
        VerifiedClaims(
            tee: .nvidia, measurement: Hex.encode(SHA384.hash(data: report.measurementRecord)), reportData: report.requestNonce,
            initDataDigest: nil, debug: false, svn: 0, signerID: Hex.encode(chain.first?.serialNumber.bytes ?? []))
    }
}

/// The outcome of verifying an NVIDIA report.
public enum NVIDIAVerification: Sendable {
    case verified(NVIDIAClaims)
    case rejected([AttestationFailure])
}

/// Verifies NVIDIA H100 attestation reports: the device chain (ECDSA, each certificate signed by the next, CAs above
/// the leaf, all valid at the verification time) to a pinned NVIDIA Device Identity CA, then the ECDSA P-384 SHA-384
/// signature by the leaf key over the SPDM request and response. Pure. RIM (reference measurement) comparison and
/// OCSP are not done here.
public struct NVIDIAAttestationVerifier: AttestationVerifier {
    public let tee = TEEType.nvidia
    let pinnedRoots: Set<String>
    /// The longest chain accepted.
    public static let maxChainLength = 8

    /// A verifier trusting the NVIDIA Device Identity CA (``VendorRoots/nvidiaDeviceIdentity``).
    public init() { pinnedRoots = VendorRoots.nvidiaDeviceIdentity }

    /// A verifier trusting exactly the given root certificate.
    /// - Throws: ``AttestationError`` when it is not a PEM certificate.
    public init(rootPEM: String) throws {
        do { pinnedRoots = [VendorRoots.fingerprint(try PEMDocument(pemString: rootPEM).derBytes)] } catch {
            throw AttestationError(.malformedEvidence, "the NVIDIA root is not a PEM certificate")
        }
    }

    public func verify(_ evidence: Evidence, now: Date) -> VerificationOutcome {
        guard evidence.bytes.count <= 256 * 1024, let bundle = try? JSONDecoder().decode(NVIDIAEvidenceBundle.self, from: evidence.bytes),
            let report = Data(base64Encoded: bundle.report)
        else { return .rejected([AttestationFailure(.malformedEvidence, "not an NVIDIA evidence bundle (report, cert_chain)")]) }
        switch verify(report: report, certChainPEM: bundle.certChain, at: now) {
        case .verified(let claims): return .verified(claims.verifiedClaims)
        case .rejected(let failures): return .rejected(failures)
        }
    }

    /// Verifies a report with its PEM chain (leaf first) at `date`.
    public func verify(report bytes: Data, certChainPEM: String, at date: Date) -> NVIDIAVerification {
        func reject(_ reason: AttestationReason, _ detail: String) -> NVIDIAVerification { .rejected([AttestationFailure(reason, detail)]) }
        let report: SPDMMeasurementReport
        do { report = try SPDMMeasurementReport(bytes) } catch { return reject(.malformedEvidence, "\(error)") }
        let chain: [Certificate]
        do {
            let documents = try PEMDocument.parseMultiple(pemString: certChainPEM)
            guard !documents.isEmpty else { return reject(.malformedEvidence, "the device chain holds no PEM certificate") }
            guard (2...Self.maxChainLength).contains(documents.count) else {
                return reject(.chainInvalid, "the device chain has \(documents.count) certificates")
            }
            chain = try documents.map { try Certificate(derEncoded: $0.derBytes) }
        } catch {
            return reject(.malformedEvidence, "the device chain is not PEM certificates")
        }
        guard let root = chain.last, pinned(root), root.issuer == root.subject, root.publicKey.isValidSignature(root.signature, for: root) else {
            return reject(.chainInvalid, "the chain does not end in the pinned NVIDIA Device Identity CA")
        }
        for i in 0..<(chain.count - 1) {
            let (certificate, issuer) = (chain[i], chain[i + 1])
            guard certificate.issuer == issuer.subject, issuer.publicKey.isValidSignature(certificate.signature, for: certificate) else {
                return reject(.chainInvalid, "certificate \(i) of the device chain is not signed by the next")
            }
            guard let constraints = try? issuer.extensions.basicConstraints, case .isCertificateAuthority = constraints else {
                return reject(.chainInvalid, "certificate \(i + 1) issues others but is not a CA")
            }
        }
        for (i, certificate) in chain.enumerated() where !(certificate.notValidBefore <= date && date <= certificate.notValidAfter) {
            return reject(.certificateExpired, "certificate \(i) of the device chain is not valid at the verification time")
        }
        guard let leafKey = P384.Signing.PublicKey(chain[0].publicKey),
            let signature = try? P384.Signing.ECDSASignature(rawRepresentation: report.signature),
            leafKey.isValidSignature(signature, for: report.signedRegion)
        else { return reject(.signatureInvalid, "the SPDM measurements signature does not verify with the device key (P-384)") }
        return .verified(NVIDIAClaims(report: report, chain: chain))
    }

    func pinned(_ certificate: Certificate) -> Bool {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate)) != nil else { return false }
        return pinnedRoots.contains(VendorRoots.fingerprint(serializer.serializedBytes))
    }
}
