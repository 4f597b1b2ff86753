import Crypto
import Foundation
import X509

/// OpenSSF model signing (OMS) v1.0: a bundle whose DSSE in-toto statement lists every file of a model directory
/// with its SHA-256.
///
/// OMS bundles are not standard Sigstore bundles: no log entries, and certificate signatures carry a chain to a
/// private CA. So they are checked here, not by ``BundleVerifier``: the DSSE signature by the given key, or by a
/// leaf certificate chaining to the given roots (checked at the leaf's notBefore, as the model-signing tool does),
/// then the manifest, then the directory itself.
public struct ModelSignatureVerifier: Sendable {
    /// The OMS predicate type.
    public static let predicateType = "https://model_signing/signature/v1.0"
    /// Paths the model-signing tool always ignores.
    public static let defaultIgnoredPaths = [".git", ".github", ".gitignore", ".gitattributes"]

    /// Who must have signed.
    public enum Trust: Sendable {
        /// The holder of this key.
        case key(SigstoreKey)
        /// A certificate chaining to one of these roots (DER).
        case certificateRoots([Data])
        /// A Sigstore (Fulcio + Rekor) signature, as `model_signing sign sigstore` makes: the whole bundle is
        /// verified by ``BundleVerifier`` over the manifest's subject digest.
        case sigstore(BundleVerifier, IdentityPolicy)
    }

    /// A signed file: its path relative to the model directory ('/'-separated) and SHA-256.
    public struct Resource: Sendable, Equatable {
        public let name: String
        public let digest: Data
    }

    public let trust: Trust

    /// A verifier with this trust.
    public init(trust: Trust) { self.trust = trust }

    /// Verifies the bundle's signature and returns the signed manifest (without reading the model directory).
    /// - Throws: ``SigstoreError``.
    public func manifest(bundleJSON: Data) throws -> [Resource] {
        let bundle = try SigstoreBundle(json: bundleJSON)
        guard case .dsse(let envelope) = bundle.content else {
            throw SigstoreError(.invalidModelManifest, "a model signature is a DSSE envelope, this bundle signs a message")
        }
        if case .sigstore = trust {} else {
            let key = try signerKey(bundle.material)
            guard key.isValidSignature(envelope.signature, for: envelope.pae) else {
                throw SigstoreError(.signatureInvalid, "the model signature does not verify")
            }
        }
        guard envelope.payloadType == InTotoStatement.payloadType else {
            throw SigstoreError(.invalidEnvelope, "DSSE payload type '\(envelope.payloadType)' is not in-toto")
        }
        let statement = try InTotoStatement(payload: envelope.payload)
        guard statement.predicateType == Self.predicateType,
            let raw = try? JSONDecoder().decode(ManifestWire.self, from: envelope.payload).predicate.resources
        else { throw SigstoreError(.invalidModelManifest, "the statement is not an OMS v1.0 manifest") }
        var resources: [Resource] = []
        resources.reserveCapacity(raw.count)
        for item in raw {
            guard let name = item.name, item.algorithm == "sha256", let hex = item.digest, let digest = Data(hex: hex),
                digest.count == 32, !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains("..")
            else { throw SigstoreError(.invalidModelManifest, "a manifest resource is not {name, sha256, digest}") }
            resources.append(resource(name, digest))
        }
        // As bytes: two names that are only canonically equivalent are two files (see ``ModelDirectory/check``).
        guard Set(resources.map { Array($0.name.utf8) }).count == resources.count else {
            throw SigstoreError(.invalidModelManifest, "a file is listed twice")
        }
        var concatenated = Data()
        for r in resources { concatenated.append(r.digest) }
        let subject = Data(SHA256.hash(data: concatenated))
        guard statement.names(sha256: subject) else {
            throw SigstoreError(.digestMismatch, "the statement's subject is not the digest of its resources")
        }
        if case .sigstore(let verifier, let identity) = trust,
            case .refused(let error) = verifier.verify(bundle: bundle, artifact: .sha256(subject), policy: .identity(identity))
        {
            throw error
        }
        return resources
    }

    /// Verifies the signature, then that `directory` holds exactly the signed files with their digests.
    /// - Parameters:
    ///   - ignoring: paths relative to the directory to leave out (added to ``defaultIgnoredPaths``).
    ///   - parallelism: files hashed at once.
    public func verify(bundleJSON: Data, directory: URL, ignoring: [String] = [], parallelism: Int = 2) -> ModelOutcome {
        do {
            let resources = try manifest(bundleJSON: bundleJSON)
            try ModelDirectory.check(directory, against: resources, ignoring: Self.defaultIgnoredPaths + ignoring, parallelism: parallelism)
            return .verified(resources)
        } catch let error as SigstoreError {
            return .refused(error)
        } catch { return .refused(SigstoreError(.unreadableInput, "\(error)")) }
    }

    private func resource(_ name: String, _ digest: Data) -> Resource { Resource(name: name, digest: digest) }

    private func signerKey(_ material: SigstoreBundle.Material) throws -> SigstoreKey {
        switch (trust, material) {
        case (.key(let key), .publicKey): return key
        case (.certificateRoots(let roots), .chain(let ders)):
            return try chainKey(ders, roots)
        case (.certificateRoots(let roots), .certificate(let der)):
            return try chainKey([der], roots)
        default:
            throw SigstoreError(.invalidVerificationMaterial, "the bundle's verification material does not fit the given key or certificate")
        }
    }

    private func chainKey(_ ders: [Data], _ rootDERs: [Data]) throws -> SigstoreKey {
        let chain = try CertificateChain.parse(ders, reason: .invalidVerificationMaterial)
        let roots = try CertificateChain.parse(rootDERs, reason: .certificateUntrusted)
        guard let leaf = chain.first, let top = chain.last else { throw SigstoreError(.invalidVerificationMaterial, "no certificate") }
        var failure = SigstoreError(.certificateUntrusted, "the certificate chain does not lead to a given root")
        for root in roots where root.subject == top.issuer {
            do {
                try CertificateChain.validate(
                    leaf: leaf, issuers: Array(chain.dropFirst()) + [root], at: [leaf.notValidBefore], usage: .codeSigningOrDigitalSignature)
                return try SigstoreKey(spki: CertificateChain.spki(leaf))
            } catch let error as SigstoreError { failure = error }
        }
        throw failure
    }
}

/// The OMS statement's resource list, decoded directly from the DSSE payload. A resource field that is absent or not
/// a string reads as nil (and refuses the manifest); `resources` that is not a list of objects refuses it too.
struct ManifestWire: Decodable {
    struct Item: Decodable {
        let name: String?
        let algorithm: String?
        let digest: String?
        private enum Keys: String, CodingKey { case name, algorithm, digest }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            name = try? c.decode(String.self, forKey: .name)
            algorithm = try? c.decode(String.self, forKey: .algorithm)
            digest = try? c.decode(String.self, forKey: .digest)
        }
    }
    struct Predicate: Decodable { let resources: [Item] }
    let predicate: Predicate
}

/// The result of a model verification.
public enum ModelOutcome: Sendable {
    /// The directory holds exactly these signed files.
    case verified([ModelSignatureVerifier.Resource])
    case refused(SigstoreError)
}
