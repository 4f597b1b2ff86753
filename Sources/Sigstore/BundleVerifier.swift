import Crypto
import Foundation
import X509

/// What was signed, as the verifier is given it.
public enum ArtifactInput: Sendable {
    /// The artifact's bytes.
    case bytes(Data)
    /// Only the artifact's SHA-256 (`sha256:<hex>` on the command line).
    case sha256(Data)

    /// `sha256:<64 hex>` as a digest input; nil for anything else.
    public init?(digest text: String) {
        guard let hex = OCIImageLayout.sha256Hex(text), let bytes = Data(hex: hex) else { return nil }
        self = .sha256(bytes)
    }

    /// The SHA-256 of the artifact.
    public var sha256Digest: Data {
        switch self {
        case .bytes(let data): Data(SHA256.hash(data: data))
        case .sha256(let digest): digest
        }
    }
}

/// Who must have signed.
public enum SignerPolicy: Sendable {
    /// A Fulcio certificate chaining to the trusted root, with this identity.
    case identity(IdentityPolicy)
    /// The holder of this key (the bundle's material must be a public key reference); log entries and timestamps
    /// are checked when present and may be absent (OMS keyed model signatures; containers/image's `sigstoreSigned`
    /// with a `keyPath`).
    case key(SigstoreKey)
    /// The holder of this key, observed: the bundle must carry a transparency log entry or an RFC 3161 timestamp
    /// that verifies (cosign's default for `--key`, which `--insecure-ignore-tlog` turns off; sigstore-go's).
    case loggedKey(SigstoreKey)
}

/// A bundle that verified: what it proves.
public struct VerifiedBundle: Sendable {
    /// SHA-256 of the artifact.
    public let artifactDigest: Data
    /// The verified signing times (Rekor v1 integrated time, RFC 3161 times), earliest first; empty for a keyed
    /// bundle without log entry or timestamp.
    public let signingTimes: [Date]
    /// The signing certificate's identities and OIDC issuer (certificate bundles only).
    public let identities: [String]
    public let issuer: String?
    /// The in-toto statement of a DSSE bundle.
    public let statement: InTotoStatement?
}

/// The result of a verification: verified, or refused with a reason.
public enum SigstoreOutcome: Sendable {
    case verified(VerifiedBundle)
    case refused(SigstoreError)

    /// The refusal, or nil.
    public var refusal: SigstoreError? {
        if case .refused(let error) = self { error } else { nil }
    }
}

/// Offline verification of Sigstore bundles against a trusted root.
///
/// For a certificate bundle: the signature over the artifact (or the DSSE PAE), the in-toto subject, every RFC 3161
/// timestamp, exactly one transparency log entry (body, promise, inclusion proof, checkpoint), at least one
/// verified time, the Fulcio chain at every verified time, an SCT, then the identity policy. For a keyed bundle:
/// the signature, and log entries and timestamps when present.
///
/// The trusted root is prepared once (``PreparedTrustedRoot``: its certificates parsed, the links between them
/// verified once); build one verifier per root and reuse it.
public struct BundleVerifier: Sendable {
    /// The prepared root every verification uses.
    public let prepared: PreparedTrustedRoot
    /// The trusted root.
    public var trustedRoot: TrustedRoot { prepared.trustedRoot }

    /// A verifier that trusts `trustedRoot` (prepared here, once).
    public init(trustedRoot: TrustedRoot) { prepared = PreparedTrustedRoot(trustedRoot) }

    /// A verifier over a root prepared by the caller (for example to share its chain link cache).
    public init(prepared: PreparedTrustedRoot) { self.prepared = prepared }

    /// Parses and verifies a bundle; a bundle that cannot be parsed is refused, not thrown.
    public func verify(bundleJSON: Data, artifact: ArtifactInput, policy: SignerPolicy) -> SigstoreOutcome {
        do { return verify(bundle: try SigstoreBundle(json: bundleJSON), artifact: artifact, policy: policy) } catch let error as SigstoreError {
            return .refused(error)
        } catch { return .refused(SigstoreError(.malformedBundle, "\(error)")) }
    }

    /// Verifies a parsed bundle.
    public func verify(bundle: SigstoreBundle, artifact: ArtifactInput, policy: SignerPolicy) -> SigstoreOutcome {
        do { return .verified(try check(bundle, artifact, policy)) } catch let error as SigstoreError {
            return .refused(error)
        } catch { return .refused(SigstoreError(.malformedBundle, "\(error)")) }
    }

    private func check(_ bundle: SigstoreBundle, _ artifact: ArtifactInput, _ policy: SignerPolicy) throws -> VerifiedBundle {
        let (key, leafDER, leaf) = try signer(bundle, policy)
        let signerName: LoggedSignature.Signer = leafDER.map { .certificate($0) } ?? .key(key.spki)
        let digest = artifact.sha256Digest
        let (logged, statement) = try verifySignature(bundle, artifact: artifact, digest: digest, key: key, signer: signerName)
        let stampTimes = try verifyTimestamps(bundle, signature: logged.signature)
        var times = stampTimes
        if case .identity = policy, bundle.tlogEntries.count != 1 {
            throw SigstoreError(.tlogEntryMissing, "a certificate bundle needs exactly one log entry, it has \(bundle.tlogEntries.count)")
        }
        if case .loggedKey = policy, bundle.tlogEntries.isEmpty, stampTimes.isEmpty {
            throw SigstoreError(
                .tlogEntryMissing, "a keyed bundle without a transparency log entry or an RFC 3161 timestamp (cosign: --insecure-ignore-tlog)")
        }
        for entry in bundle.tlogEntries {
            let verified = try TransparencyLog.verify(entry, root: prepared, expected: logged)
            if let time = verified.integratedTime {
                times.append(time)
            } else if stampTimes.isEmpty {
                if leafDER != nil {
                    throw SigstoreError(.noSignedTime, "the log entry has no inclusion promise and no RFC 3161 timestamp verified")
                }
            } else if !stampTimes.contains(where: verified.log.validity.contains) {
                throw SigstoreError(.unknownTlog, "no verified time falls in the log's validity window")
            }
        }
        times.sort()
        guard let leaf else {
            return VerifiedBundle(artifactDigest: digest, signingTimes: times, identities: [], issuer: nil, statement: statement)
        }
        guard !times.isEmpty else {
            throw SigstoreError(.noSignedTime, "no verified signing time: no inclusion promise and no verified RFC 3161 timestamp")
        }
        let issuer = try validateFulcioChain(leaf, at: times)
        try CertificateTransparency.verify(leaf: leaf, issuerKeyHash: issuer.spkiDigest, logs: trustedRoot.ctlogs)
        if case .identity(let identity) = policy { try identity.check(leaf) }
        return VerifiedBundle(
            artifactDigest: digest, signingTimes: times, identities: IdentityPolicy.identities(of: leaf),
            issuer: IdentityPolicy.issuer(of: leaf), statement: statement)
    }

    /// The key that must have signed, and the leaf certificate (DER and parsed) when the policy asks for one.
    private func signer(_ bundle: SigstoreBundle, _ policy: SignerPolicy) throws -> (SigstoreKey, Data?, Certificate?) {
        switch (policy, bundle.material) {
        case (.key(let key), .publicKey), (.loggedKey(let key), .publicKey): return (key, nil, nil)
        case (.key, _), (.loggedKey, _):
            throw SigstoreError(.invalidVerificationMaterial, "a key was given but the bundle carries a certificate")
        case (.identity, .publicKey):
            throw SigstoreError(.invalidVerificationMaterial, "an identity was given but the bundle names a public key")
        case (.identity, .chain) where bundle.version == .v03:
            throw SigstoreError(.invalidVerificationMaterial, "a v0.3 bundle must carry a single certificate, not a chain")
        case (.identity, .certificate(let der)): return try leafKey(der)
        case (.identity, .chain(let ders)): return try leafKey(ders.first)
        }
    }

    private func leafKey(_ der: Data?) throws -> (SigstoreKey, Data?, Certificate?) {
        guard let der, let leaf = try CertificateChain.parse([der], reason: .invalidVerificationMaterial).first else {
            throw SigstoreError(.invalidVerificationMaterial, "no signing certificate")
        }
        return (try SigstoreKey(spki: CertificateChain.spki(leaf)), der, leaf)
    }

    private func verifySignature(
        _ bundle: SigstoreBundle, artifact: ArtifactInput, digest: Data, key: SigstoreKey, signer: LoggedSignature.Signer
    ) throws -> (LoggedSignature, InTotoStatement?) {
        switch bundle.content {
        case .messageSignature(let signature, let claimed):
            if let claimed, claimed != digest {
                throw SigstoreError(.digestMismatch, "the bundle's message digest is not the artifact's SHA-256")
            }
            // hashedrekord signatures are over the artifact's SHA-256 (ECDSA prehashed, whatever the curve); a key
            // may also have signed the artifact with its own hash (P-384 with SHA-384, Ed25519, RSA).
            let valid: Bool
            if key.verifiesPrehashed && key.isValidSignature(signature, sha256: digest) {
                valid = true
            } else if case .bytes(let data) = artifact {
                valid = key.isValidSignature(signature, for: data)
            } else if key.verifiesPrehashed {
                valid = false
            } else {
                throw SigstoreError(.unsupportedKey, "this key type cannot verify a digest alone: give the artifact file")
            }
            guard valid else { throw SigstoreError(.signatureInvalid, "the signature over the artifact does not verify") }
            return (LoggedSignature(signature: signature, signedDigest: digest, payloadDigest: nil, signer: signer), nil)
        case .dsse(let envelope):
            let pae = envelope.pae
            guard key.isValidSignature(envelope.signature, for: pae) else {
                throw SigstoreError(.signatureInvalid, "the DSSE envelope signature does not verify")
            }
            guard envelope.payloadType == InTotoStatement.payloadType else {
                throw SigstoreError(.invalidEnvelope, "DSSE payload type '\(envelope.payloadType)' is not in-toto")
            }
            let statement = try InTotoStatement(payload: envelope.payload)
            guard statement.names(sha256: digest) else {
                throw SigstoreError(.digestMismatch, "the artifact's SHA-256 is not a subject of the in-toto statement")
            }
            let logged = LoggedSignature(
                signature: envelope.signature, signedDigest: Data(SHA256.hash(data: pae)),
                payloadDigest: Data(SHA256.hash(data: envelope.payload)), signer: signer)
            return (logged, statement)
        }
    }

    /// Verified RFC 3161 times; tokens from TSAs the root does not list are skipped.
    private func verifyTimestamps(_ bundle: SigstoreBundle, signature: Data) throws -> [Date] {
        let stamps = bundle.timestamps
        guard stamps.count <= SigstoreBundle.maximumTimestamps else {
            throw SigstoreError(.timestampInvalid, "\(stamps.count) timestamps, above the limit of \(SigstoreBundle.maximumTimestamps)")
        }
        guard Set(stamps).count == stamps.count else { throw SigstoreError(.timestampInvalid, "a timestamp appears twice") }
        guard stamps.isEmpty || !trustedRoot.timestampAuthorities.isEmpty else {
            throw SigstoreError(.timestampInvalid, "the bundle has timestamps but the trusted root lists no timestamp authority")
        }
        return try stamps.compactMap {
            try RFC3161Timestamp(der: $0).verify(over: signature, authorities: prepared.timestampAuthorities, cache: prepared.links)
        }
    }

    /// The Fulcio CA whose chain validates the leaf at every time; returns the leaf's issuer.
    private func validateFulcioChain(_ leaf: Certificate, at times: [Date]) throws -> PreparedCertificate {
        var failure = SigstoreError(.certificateUntrusted, "the signing certificate chains to no certificate authority of the trusted root")
        for ca in prepared.certificateAuthorities {
            guard let chain = ca.chain, let issuer = chain.first, issuer.certificate.subject == leaf.issuer else { continue }
            guard times.allSatisfy(ca.authority.validity.contains) else {
                failure = SigstoreError(.certificateExpiredAtSigning, "the certificate authority was not valid at the signing time")
                continue
            }
            do {
                try CertificateChain.validate(bundleLeaf: leaf, authority: chain, cache: prepared.links, at: times, usage: .codeSigning)
                return issuer
            } catch let error as SigstoreError {
                if failure.reason == .certificateUntrusted { failure = error }
            }
        }
        throw failure
    }
}
