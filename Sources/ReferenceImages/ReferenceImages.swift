import Attestation
import Crypto
import Foundation
import Sigstore

/// Verifies the Sigstore bundles of the image digests reference value sets pin (`image.signed_by`), offline, with
/// the `Sigstore` verifier: run when a broker loads reference values or an admin puts them, so that appraisal only
/// looks the verified signer up.
public enum ReferenceImages {
    /// Reference values whose image bundles verified, with every bundle and trusted root inlined (so the stored
    /// copy needs no file), and the verified signer of each pinned digest.
    public struct Verified: Sendable {
        /// The values, bundles and trusted roots inlined.
        public let values: ReferenceValues
        /// Set id → digest → signer.
        public let signers: VerifiedImageSigners
    }

    /// The largest trusted root read (4 MiB; the public-good one is about 10 kB).
    public static let maximumTrustedRootSize = 4 << 20

    /// Inlines and verifies every set's image bundles.
    /// - Parameters:
    ///   - baseDirectory: relative bundle and trusted-root paths are read from here; `nil` refuses paths (values
    ///     from the admin API must carry their bundles and roots inline).
    /// - Throws: ``ReferenceImageError`` naming the set, the digest and the bundle's refusal reason.
    public static func verify(_ values: ReferenceValues, baseDirectory: URL?) throws -> Verified {
        var inlined = values
        var signers: [String: [String: String]] = [:]
        for (index, set) in values.sets.enumerated() {
            guard var rule = set.image else { continue }
            rule.trustedRoot = try rule.trustedRoot.map {
                try inline($0, base: baseDirectory, limit: maximumTrustedRootSize, set: set.id, what: "trusted_root")
            }
            var bundles: [String: String] = [:]
            for (digest, bundle) in rule.bundles {
                guard let key = ImageRequirement.normalized(digest) else {
                    throw ReferenceImageError("malformed_bundle", set: set.id, digest: digest, "a bundles key is not sha256:<64 hex>")
                }
                bundles[key] = try inline(bundle, base: baseDirectory, limit: SigstoreBundle.maximumSize, set: set.id, what: "bundle of \(key)")
            }
            rule.bundles = bundles
            inlined.sets[index].image = rule
            guard !rule.signedBy.isEmpty else { continue }
            let verifier = try makeVerifier(rule, set: set.id)
            let policies = try rule.signedBy.map { try policy($0, set: set.id) }
            for digest in rule.digests.compactMap(ImageRequirement.normalized) {
                guard let bundle = bundles[digest] else {
                    throw ReferenceImageError("bundle_missing", set: set.id, digest: digest, "no bundle for this pinned digest")
                }
                signers[set.id, default: [:]][digest] = try signer(
                    of: Data(bundle.utf8), digest: digest, verifier: verifier, policies: policies, set: set.id)
            }
        }
        return Verified(values: inlined, signers: VerifiedImageSigners(signers))
    }

    /// The first signer under whom the bundle verifies over `digest`.
    static func signer(
        of bundle: Data, digest: String, verifier: BundleVerifier, policies: [(SignerPolicy, String?)], set: String
    ) throws -> String {
        guard let artifact = ArtifactInput(digest: digest) else {
            throw ReferenceImageError("digest_mismatch", set: set, digest: digest, "not sha256:<64 hex>")
        }
        var first: SigstoreError?
        for (policy, keyName) in policies {
            switch verifier.verify(bundleJSON: bundle, artifact: artifact, policy: policy) {
            case .verified(let verified):
                if let keyName { return keyName }
                return verified.identities.first ?? "unknown"
            case .refused(let error):
                first = first ?? error
            }
        }
        let refusal = first ?? SigstoreError(.identityMismatch, "no signer")
        throw ReferenceImageError(refusal.reason.rawValue, set: set, digest: digest, refusal.detail)
    }

    /// A signer entry as a Sigstore policy, with the name results record for a key (`key:sha256:<hex of its SPKI>`).
    static func policy(_ entry: ImageSigner, set: String) throws -> (SignerPolicy, String?) {
        do {
            if let pem = entry.key {
                let key = try SigstoreKey(pem: pem)
                return (.key(key), "key:sha256:" + Data(SHA256.hash(data: key.spki)).map { String(format: "%02x", $0) }.joined())
            }
            let identity: IdentityPolicy.Matcher = entry.identityRegexp.map { .regex($0) } ?? .exact(entry.identity ?? "")
            return (.identity(try IdentityPolicy(identity: identity, issuer: .exact(entry.issuer ?? ""))), nil)
        } catch let error as SigstoreError {
            throw ReferenceImageError(error.reason.rawValue, set: set, digest: nil, "signed_by: \(error.detail)")
        }
    }

    static func makeVerifier(_ rule: ImageRequirement, set: String) throws -> BundleVerifier {
        do {
            let root = try rule.trustedRoot.map { try TrustedRoot(json: Data($0.utf8)) } ?? PublicGoodRoot.trustedRoot(.production)
            return BundleVerifier(trustedRoot: root)
        } catch let error as SigstoreError {
            throw ReferenceImageError(error.reason.rawValue, set: set, digest: nil, "trusted_root: \(error.detail)")
        }
    }

    /// The JSON text itself when it starts with `{`, else the file it names (read at most `limit` bytes).
    static func inline(_ text: String, base: URL?, limit: Int, set: String, what: String) throws -> String {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("{") { return text }
        guard let base else {
            throw ReferenceImageError("unreadable_input", set: set, digest: nil, "\(what): give the JSON inline (file paths are read only from a reference-values file)")
        }
        let url = text.hasPrefix("/") ? URL(fileURLWithPath: text) : base.appendingPathComponent(text)
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ReferenceImageError("unreadable_input", set: set, digest: nil, "\(what): cannot read \(url.path)")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: limit + 1)) ?? Data()
        guard data.count <= limit else {
            throw ReferenceImageError("malformed_bundle", set: set, digest: nil, "\(what): \(url.path) is larger than \(limit) bytes")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Reference values whose image signatures cannot be accepted: the set, the digest and the Sigstore reason
/// (`signature_invalid`, `identity_mismatch`, …, or `bundle_missing`, `unreadable_input`).
public struct ReferenceImageError: Error, Sendable, CustomStringConvertible {
    /// The Sigstore reason code, or `bundle_missing`.
    public let reason: String
    /// The reference value set.
    public let set: String
    /// The pinned digest concerned, if one.
    public let digest: String?
    /// What failed, without secrets.
    public let detail: String

    init(_ reason: String, set: String, digest: String?, _ detail: String) {
        self.reason = reason
        self.set = set
        self.digest = digest
        self.detail = detail
    }

    public var description: String { "set \(set)\(digest.map { " image \($0)" } ?? ""): \(reason): \(detail)" }
}
