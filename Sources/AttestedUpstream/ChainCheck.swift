import Foundation
import SealgateCore
import SwiftASN1
import Synchronization
import X509

/// The one certificate-chain check of the attested channels: the attested upstream transport, the broker's
/// mutual TLS and `sealgate verify-gateway` all call it (RFC 5280 path to a given root, validity at a given time,
/// and — when a host is given — the server identity).
public enum ChainCheck {
    /// Every certificate of a PEM bundle.
    /// - Throws: when a PEM block is not a certificate.
    public static func certificates(pem: String) throws -> [Certificate] {
        try PEMDocument.parseMultiple(pemString: pem).map { try Certificate(pemDocument: $0) }
    }

    /// The leaf of `chain` (leaf first) when it leads to one of `roots`, every certificate is valid at `now`, and —
    /// with `host` — the leaf names that DNS name or IP address; else `nil`.
    public static func verifiedLeaf(_ chain: [Certificate], roots: [Certificate], host: String?, now: Date) async -> Certificate? {
        guard let leaf = chain.first, !roots.isEmpty else { return nil }
        let intermediates = CertificateStore(chain.dropFirst())
        let result: CertificateValidationResult
        if let host {
            let isIP = IPAddress.isLiteral(host)
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
                RFC5280Policy(validationTime: now)
                ServerIdentityPolicy(serverHostname: isIP ? nil : host, serverIP: isIP ? host : nil)
            }
            result = await verifier.validate(leaf: leaf, intermediates: intermediates)
        } else {
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) { RFC5280Policy(validationTime: now) }
            result = await verifier.validate(leaf: leaf, intermediates: intermediates)
        }
        if case .validCertificate = result { return leaf }
        return nil
    }
}

/// A CA bundle (PEM texts) parsed once per distinct content, so a check per connection does not re-parse the
/// same roots; a rotated bundle (different text) is parsed anew.
public final class TrustRoots: Sendable {
    private let cache = Mutex<(pem: [String], roots: [Certificate])?>(nil)

    /// Creates an empty cache.
    public init() {}

    /// The certificates of `pem` (blocks that are not certificates make the whole bundle fail: `[]`).
    public func roots(_ pem: [String]) -> [Certificate] {
        if let hit = cache.withLock({ $0?.pem == pem ? $0?.roots : nil }) { return hit }
        guard let parsed = try? pem.flatMap({ try ChainCheck.certificates(pem: $0) }) else { return [] }
        cache.withLock { $0 = (pem, parsed) }
        return parsed
    }
}
