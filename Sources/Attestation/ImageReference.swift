import Foundation

/// Who may have signed a pinned image digest: a Sigstore certificate identity (exact or regular expression, with
/// its OIDC issuer), or a public key (PEM). Exactly one of `identity`, `identityRegexp` and `key` is set.
public struct ImageSigner: Sendable, Codable, Equatable {
    /// The certificate's SAN, exactly (cosign `--certificate-identity`).
    public var identity: String?
    /// A regular expression the whole SAN must match (cosign `--certificate-identity-regexp`).
    public var identityRegexp: String?
    /// The Fulcio OIDC issuer, exactly; required with an identity.
    public var issuer: String?
    /// A PEM public key (keyed cosign signatures).
    public var key: String?

    enum CodingKeys: String, CodingKey {
        case identity, issuer, key
        case identityRegexp = "identity_regexp"
    }

    /// Creates a signer entry.
    public init(identity: String? = nil, identityRegexp: String? = nil, issuer: String? = nil, key: String? = nil) {
        self.identity = identity
        self.identityRegexp = identityRegexp
        self.issuer = issuer
        self.key = key
    }

    /// Decodes an entry.
    /// - Throws: `DecodingError.dataCorrupted` unless exactly one of `identity`, `identity_regexp`, `key` is given,
    ///   and an identity comes with an `issuer`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        identity = try c.decodeIfPresent(String.self, forKey: .identity)
        identityRegexp = try c.decodeIfPresent(String.self, forKey: .identityRegexp)
        issuer = try c.decodeIfPresent(String.self, forKey: .issuer)
        key = try c.decodeIfPresent(String.self, forKey: .key)
        let given = [identity, identityRegexp, key].compactMap { $0 }.count
        guard given == 1 else {
            throw DecodingError.dataCorruptedError(
                forKey: .identity, in: c, debugDescription: "a signed_by entry needs exactly one of identity, identity_regexp, key")
        }
        if key == nil && (issuer ?? "").isEmpty {
            throw DecodingError.dataCorruptedError(forKey: .issuer, in: c, debugDescription: "an identity needs its OIDC issuer")
        }
    }
}

/// A reference value set's image rule: the workload's init-data must name one of `digests`, and when `signedBy`
/// is not empty each digest must have a Sigstore bundle (`bundles`) that verifies under one of the signers —
/// checked when the reference values are loaded or put, never at appraisal.
public struct ImageRequirement: Sendable, Codable, Equatable {
    /// Allowed image manifest digests, `sha256:<64 hex>` (compared lowercase).
    public var digests: [String]
    /// The signers one of whom must have signed every digest; empty: the digests are pinned but need no signature.
    public var signedBy: [ImageSigner]
    /// A Sigstore bundle per digest: its JSON text (starting with `{`) or the path of a file holding it.
    public var bundles: [String: String]
    /// A Sigstore `trusted_root.json` path; default the embedded public-good production root.
    public var trustedRoot: String?

    enum CodingKeys: String, CodingKey {
        case digests, bundles
        case signedBy = "signed_by"
        case trustedRoot = "trusted_root"
    }

    /// Creates a rule.
    public init(digests: [String], signedBy: [ImageSigner] = [], bundles: [String: String] = [:], trustedRoot: String? = nil) {
        self.digests = digests
        self.signedBy = signedBy
        self.bundles = bundles
        self.trustedRoot = trustedRoot
    }

    /// Decodes a rule; missing lists are empty.
    /// - Throws: `DecodingError.dataCorrupted` when `digests` is empty or a digest is not `sha256:<64 hex>`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        digests = try c.decode([String].self, forKey: .digests)
        signedBy = try c.decodeIfPresent([ImageSigner].self, forKey: .signedBy) ?? []
        bundles = try c.decodeIfPresent([String: String].self, forKey: .bundles) ?? [:]
        trustedRoot = try c.decodeIfPresent(String.self, forKey: .trustedRoot)
        guard !digests.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .digests, in: c, debugDescription: "image.digests is empty")
        }
        if let bad = digests.first(where: { Self.normalized($0) == nil }) {
            throw DecodingError.dataCorruptedError(forKey: .digests, in: c, debugDescription: "'\(bad)' is not sha256:<64 hex>")
        }
    }

    /// `sha256:<64 lowercase hex>` for a digest in that form (any case), else `nil`.
    public static func normalized(_ digest: String) -> String? {
        let lower = digest.lowercased()
        guard lower.hasPrefix("sha256:") else { return nil }
        let hex = lower.dropFirst("sha256:".count)
        guard hex.count == 64, hex.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }) else { return nil }
        return lower
    }
}

/// The image the appraised workload runs, as its verified init-data names it: recorded in attestation results for
/// release policies (`image.digest`, `image.signed_by`).
public struct ImageClaims: Sendable, Codable, Equatable {
    /// The manifest digest, `sha256:<hex>`.
    public var digest: String
    /// Who signed it (a certificate identity, or `key:sha256:<hex of the key's SPKI>`), when the matched reference
    /// value set required a signature.
    public var signedBy: String?

    enum CodingKeys: String, CodingKey {
        case digest
        case signedBy = "signed_by"
    }

    /// Creates claims.
    public init(digest: String, signedBy: String?) {
        self.digest = digest
        self.signedBy = signedBy
    }
}

/// The verified signers of pinned image digests: reference value set id → digest → signer. Built by the code that
/// verifies the sets' Sigstore bundles (`ReferenceImages`), never from input.
public struct VerifiedImageSigners: Sendable, Equatable {
    /// Set id → normalized digest → signer.
    public var signers: [String: [String: String]]

    /// Creates the table.
    public init(_ signers: [String: [String: String]] = [:]) { self.signers = signers }

    /// The signer of `digest` in set `setID`, if its bundle verified.
    public func signer(set setID: String, digest: String) -> String? { signers[setID]?[digest] }
}
