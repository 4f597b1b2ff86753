import Foundation
import SwiftASN1
import X509

/// Path validation of a signing certificate up to a trusted root certificate, at given times.
///
/// Names chain, signatures verify, issuers are CAs allowed to sign certificates, every certificate is valid at
/// every time, the leaf has the required extended key usage, and no certificate carries a critical extension this
/// verifier does not implement.
public enum CertificateChain {
    /// What the leaf certificate must be allowed to do.
    public enum LeafUsage: Sendable {
        /// Fulcio signing certificates: extended key usage code signing.
        case codeSigning
        /// RFC 3161 timestamp authorities: extended key usage time stamping.
        case timeStamping
        /// OpenSSF model signing certificates: code signing EKU or digital signature key usage.
        case codeSigningOrDigitalSignature
    }

    /// Extensions this verifier implements; any other marked critical is refused.
    static let understoodCritical: Set<ASN1ObjectIdentifier> = [
        .X509ExtensionID.basicConstraints, .X509ExtensionID.keyUsage, .X509ExtensionID.extendedKeyUsage,
        .X509ExtensionID.subjectAlternativeName,
    ]

    /// Parses DER certificates.
    /// - Throws: ``SigstoreError`` with `reason` when one cannot be parsed.
    static func parse(_ der: [Data], reason: SigstoreReason = .certificateUntrusted) throws -> [Certificate] {
        try der.map { bytes in
            do { return try Certificate(derEncoded: Array(bytes)) } catch {
                throw SigstoreError(reason, "a certificate cannot be parsed")
            }
        }
    }

    /// The DER SubjectPublicKeyInfo of a certificate's key.
    /// - Throws: ``SigstoreError`` `unsupported_key` when it cannot be serialized.
    static func spki(_ cert: Certificate) throws -> Data {
        var serializer = DER.Serializer()
        do { try serializer.serialize(cert.publicKey) } catch {
            throw SigstoreError(.unsupportedKey, "the certificate's public key cannot be encoded")
        }
        return Data(serializer.serializedBytes)
    }

    /// Validates `leaf → intermediates… → root`.
    /// - Parameters:
    ///   - leaf: the signing certificate.
    ///   - issuers: intermediates in order, then the trusted root last (trusted as given: its own signature is not
    ///     checked).
    ///   - times: every time at which the chain must be valid.
    ///   - usage: what the leaf must be allowed to do.
    /// - Throws: ``SigstoreError`` `certificate_untrusted`, `certificate_expired_at_signing` or
    ///   `unknown_critical_extension`.
    public static func validate(leaf: Certificate, issuers: [Certificate], at times: [Date], usage: LeafUsage) throws {
        try validate(leaf: leaf, issuers: issuers, at: times, usage: usage) { _, child, issuer in
            issuer.publicKey.isValidSignature(child.signature, for: child)
        }
    }

    /// Validates a chain up to a trusted-root authority's certificates: `bundleLeaf → authority…` (a Fulcio signing
    /// certificate), or the authority's chain alone when `bundleLeaf` is nil (a TSA, its signing certificate first).
    ///
    /// A link between two certificates of the authority is verified once per `cache` and then served from it, for the
    /// byte-identical child and issuer only; the link from `bundleLeaf` is verified every time, and every other check
    /// (names, validity at every time, CA, path length, critical extensions, leaf usage) runs every time.
    static func validate(
        bundleLeaf: Certificate?, authority chain: [PreparedCertificate], cache: ChainLinkCache, at times: [Date], usage: LeafUsage
    ) throws {
        let prepared: [PreparedCertificate?] = bundleLeaf == nil ? chain : [nil] + chain
        let certificates = (bundleLeaf.map { [$0] } ?? []) + chain.map(\.certificate)
        guard let leaf = certificates.first else { throw SigstoreError(.certificateUntrusted, "no certificates") }
        try validate(leaf: leaf, issuers: Array(certificates.dropFirst()), at: times, usage: usage) { depth, child, issuer in
            guard let c = prepared[depth], let i = prepared[depth + 1] else {
                return issuer.publicKey.isValidSignature(child.signature, for: child)
            }
            return cache.verified(child: c.derDigest, issuer: i.derDigest) { issuer.publicKey.isValidSignature(child.signature, for: child) }
        }
    }

    private static func validate(
        leaf: Certificate, issuers: [Certificate], at times: [Date], usage: LeafUsage,
        signedBy: (_ depth: Int, _ child: Certificate, _ issuer: Certificate) -> Bool
    ) throws {
        guard !issuers.isEmpty else { throw SigstoreError(.certificateUntrusted, "no issuer certificates") }
        let chain = [leaf] + issuers
        for (depth, cert) in chain.enumerated() {
            try checkCriticalExtensions(cert)
            for time in times where time < cert.notValidBefore || time > cert.notValidAfter {
                throw SigstoreError(
                    .certificateExpiredAtSigning,
                    "\(depth == 0 ? "the signing certificate" : "issuer certificate \(depth)") is not valid at "
                        + "\(ISO8601DateFormatter().string(from: time)) (valid \(cert.notValidBefore)–\(cert.notValidAfter))")
            }
            guard depth + 1 < chain.count else { break }
            let issuer = chain[depth + 1]
            guard cert.issuer == issuer.subject, signedBy(depth, cert, issuer) else {
                throw SigstoreError(.certificateUntrusted, "certificate \(depth) is not signed by the next in the chain")
            }
            try checkIssuer(issuer, below: depth)
        }
        try checkLeaf(leaf, usage)
    }

    private static func checkCriticalExtensions(_ cert: Certificate) throws {
        for ext in cert.extensions where ext.critical && !understoodCritical.contains(ext.oid) {
            throw SigstoreError(.unknownCriticalExtension, "a certificate has the unknown critical extension \(ext.oid)")
        }
    }

    private static func checkIssuer(_ issuer: Certificate, below depth: Int) throws {
        guard case .isCertificateAuthority(let maxPath)? = try? issuer.extensions.basicConstraints else {
            throw SigstoreError(.certificateUntrusted, "an issuer certificate is not a CA")
        }
        if let maxPath, depth > maxPath {
            throw SigstoreError(.certificateUntrusted, "an issuer's path length constraint is exceeded")
        }
        if let usage = try? issuer.extensions.keyUsage, !usage.keyCertSign {
            throw SigstoreError(.certificateUntrusted, "an issuer certificate may not sign certificates")
        }
    }

    private static func checkLeaf(_ leaf: Certificate, _ usage: LeafUsage) throws {
        if case .isCertificateAuthority? = try? leaf.extensions.basicConstraints {
            throw SigstoreError(.certificateUntrusted, "the signing certificate is a CA")
        }
        let eku = try? leaf.extensions.extendedKeyUsage
        let keyUsage = try? leaf.extensions.keyUsage
        let allowed: Bool
        // An end-entity certificate that may sign certificates is a CA in all but name (RFC 5280 4.2.1.3).
        if keyUsage?.keyCertSign == true {
            throw SigstoreError(.certificateUntrusted, "the signing certificate's key usage allows signing certificates")
        }
        switch usage {
        case .codeSigning:
            // A Fulcio certificate: the codeSigning extended key usage and the digitalSignature key usage, both
            // required (as sigstore-python and sigstore-go check).
            allowed = (eku?.contains(.codeSigning) ?? false) && (keyUsage?.digitalSignature ?? false)
        case .timeStamping: allowed = eku?.contains(.timeStamping) ?? false
        case .codeSigningOrDigitalSignature:
            allowed = (eku?.contains(.codeSigning) ?? false) || (keyUsage?.digitalSignature ?? false)
        }
        guard allowed else { throw SigstoreError(.certificateUntrusted, "the signing certificate's key usage does not allow this") }
    }
}
