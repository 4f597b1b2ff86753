import Crypto
import Foundation
import Synchronization
import X509

/// A trusted root parsed once for verification: every certificate authority's and timestamp authority's chain as
/// parsed certificates with the SHA-256 of their exact DER, each Fulcio issuer's key hash for SCTs, each log's
/// checkpoint key hints, and the cache of chain links that verified.
///
/// Immutable and `Sendable`; build one per trusted root and reuse it for every verification (``BundleVerifier``
/// does). Only trusted-root material is prepared: everything a bundle brings (leaf certificate, signatures, SCTs,
/// log entries, timestamps) is still parsed and verified every time.
public struct PreparedTrustedRoot: Sendable {
    /// The root as given.
    public let trustedRoot: TrustedRoot
    /// Fulcio CAs, in the root's order.
    let certificateAuthorities: [PreparedAuthority]
    /// TSAs, in the root's order.
    let timestampAuthorities: [PreparedAuthority]
    /// Key hints a checkpoint signature of each transparency log may carry, by log id.
    let checkpointHints: [Data: Set<Data>]
    /// Chain links between certificates of this root that verified.
    let links: ChainLinkCache

    /// Prepares `trustedRoot`.
    /// - Parameter linkCache: where verified links are remembered; several prepared roots may share one (it is keyed
    ///   by the exact bytes of both certificates, so a link never verifies for a certificate it was not checked on).
    public init(_ trustedRoot: TrustedRoot, linkCache: ChainLinkCache = ChainLinkCache()) {
        self.trustedRoot = trustedRoot
        certificateAuthorities = trustedRoot.certificateAuthorities.map(PreparedAuthority.init)
        timestampAuthorities = trustedRoot.timestampAuthorities.map(PreparedAuthority.init)
        var hints: [Data: Set<Data>] = [:]
        for log in trustedRoot.tlogs { hints[log.logID, default: []].formUnion(SignedCheckpoint.keyHints(log)) }
        checkpointHints = hints
        links = linkCache
    }
}

/// A certificate of the trusted root, parsed once.
struct PreparedCertificate: Sendable {
    let certificate: Certificate
    /// SHA-256 of the exact DER the root lists.
    let derDigest: Data
    /// SHA-256 of its DER SubjectPublicKeyInfo (an SCT's issuer key hash), nil when the key cannot be encoded.
    let spkiDigest: Data?
}

/// A Fulcio CA or TSA with its chain parsed; `chain` is nil when a certificate of it cannot be parsed (the authority
/// is then never used, as when it was parsed per verification).
struct PreparedAuthority: Sendable {
    let authority: TrustedRoot.Authority
    let chain: [PreparedCertificate]?

    init(_ authority: TrustedRoot.Authority) {
        self.authority = authority
        chain = try? authority.chain.map { der in
            let certificate = try Certificate(derEncoded: Array(der))
            return PreparedCertificate(
                certificate: certificate, derDigest: Data(SHA256.hash(data: der)),
                spkiDigest: (try? CertificateChain.spki(certificate)).map { Data(SHA256.hash(data: $0)) })
        }
    }

    /// The chain's certificates.
    var certificates: [Certificate]? { chain?.map(\.certificate) }
}

/// Certificate chain links (child signed by issuer) that verified, keyed by the SHA-256 of the exact DER of both
/// certificates. Only successes are kept; bounded (emptied when full). Thread-safe.
///
/// Used for links between trusted-root certificates only (Fulcio intermediate → root, TSA → its CA): the signing
/// certificate a bundle carries is verified every time.
public final class ChainLinkCache: Sendable {
    /// Entries and lookups that found a verified link.
    public struct Statistics: Sendable, Equatable {
        /// Links held.
        public let entries: Int
        /// Lookups answered from the cache since it was made.
        public let hits: Int
    }

    private struct State {
        var links: Set<Data> = []
        var hits = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    /// A cache of at most `capacity` links.
    public init(capacity: Int = 256) { self.capacity = max(1, capacity) }

    /// Current size and hit count.
    public var statistics: Statistics { state.withLock { Statistics(entries: $0.links.count, hits: $0.hits) } }

    /// Whether `child` (SHA-256 of its DER) is signed by `issuer`: from the cache when this exact pair verified
    /// before, else by running `verify` and remembering a success.
    func verified(child: Data, issuer: Data, _ verify: () -> Bool) -> Bool {
        var key = child
        key.append(issuer)
        let known = state.withLock { s in
            guard s.links.contains(key) else { return false }
            s.hits += 1
            return true
        }
        if known { return true }
        guard verify() else { return false }
        state.withLock { s in
            if s.links.count >= capacity { s.links.removeAll() }
            s.links.insert(key)
        }
        return true
    }
}
