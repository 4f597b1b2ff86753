import Crypto
import Foundation
import KBSProtocol
import KeyLease
import SealgateCore
import Sealing
import Synchronization

/// The gateway's view of its leased keys: the KEKs of each tenant × class, prepared DEKs (``DEKCache``), the
/// per-tenant secrets derived from the leased salt, and why no lease is held when none is.
public final class KeyRing: Sendable {
    let leases: LeaseManager
    let tenants: [TenantID]
    let classes: [DataClass]
    let redactors: any RedactorFactory
    /// Prepared DEKs of recently read documents, for the current lease epoch only.
    let dekCache = DEKCache()
    /// Keys derived from each tenant's leased secret and each tenant's redactor, for the current lease epoch only.
    let derived: DerivedKeyCache

    /// The name of each tenant's opaque secret (`<tenant>/secret/gateway-salt`): the key of audit HMACs and
    /// redaction hash tokens.
    public static let tenantSecretName = "gateway-salt"

    /// Creates a key ring over a lease manager, for the configured tenants and classes.
    public init(leases: LeaseManager, tenants: [TenantID], classes: [DataClass], redactors: any RedactorFactory) {
        self.leases = leases
        self.tenants = tenants
        self.classes = classes
        self.redactors = redactors
        self.derived = DerivedKeyCache(tenants: tenants)
    }

    /// The KEK resources this gateway needs: every configured tenant × data class.
    public var resources: [ResourcePath] {
        tenants.flatMap { tenant in classes.map { ResourcePath(tenant: tenant, dataClass: $0) } }
    }

    /// The secret resources this gateway needs: one per tenant.
    public var secretResources: [String] { tenants.map { "\($0)/secret/\(Self.tenantSecretName)" } }

    /// The evidence type this gateway attests with.
    public var tee: String { leases.tee.rawValue }

    /// Whether the gateway holds a valid key lease.
    public func isReady() async -> Bool { await leases.isValid }

    /// When the current lease was obtained and when it ends (`nil`s without a valid lease).
    public func leaseTimes() async -> (acquired: Date?, expires: Date?) {
        guard let expiry = await leases.expiry else { return (nil, nil) }
        return (await leases.acquiredAt, expiry)
    }

    /// The leased KEK versions of a tenant × class, or `nil` without a valid lease.
    func keks(_ tenant: TenantID, _ dataClass: DataClass) async -> [LeasedKey]? {
        let resource = ResourcePath(tenant: tenant, dataClass: dataClass)
        // The published lease while it is valid; otherwise the actor answers (and drops an expired lease).
        if let held = leases.validKeys(for: resource) { return held.keys }
        return await leases.keys(for: resource)
    }

    /// The tenant × class KEKs with the lease epoch they belong to, in one read (the published lease while it is
    /// valid, else the actor's): for work that must not outlive its key set.
    func keksWithEpoch(_ tenant: TenantID, _ dataClass: DataClass) async -> (keys: [LeasedKey], epoch: Int)? {
        let resource = ResourcePath(tenant: tenant, dataClass: dataClass)
        if let held = leases.validKeys(for: resource) { return held }
        return await leases.keysWithEpoch(for: resource)
    }

    /// Whether the lease holds a KEK of the tenant × class right now.
    public func holdsKey(tenant: TenantID, dataClass: DataClass) async -> Bool { await keks(tenant, dataClass) != nil }

    /// Why a request that needs keys cannot have them: no lease at all (``noLeaseReason()``), or a lease
    /// without this tenant × class (`release_denied`).
    func missingKeyReason() async -> ReasonCode {
        await leases.isValid ? .releaseDenied : await noLeaseReason()
    }

    /// Why no lease is held: the broker refused attestation, the broker is unreachable, or no key was released.
    public func noLeaseReason() async -> ReasonCode {
        guard let stage = await leases.lastFailureStage else {
            // A lease that ran out while its renewal still waits for the broker has the cause a renewal that failed
            // to reach it has: one reason for one cause, whichever comes first (issue #12, defect 7).
            return await leases.awaitingBroker ? .brokerUnavailable : .keyLeaseUnavailable
        }
        switch stage {
        case .transport: return .brokerUnavailable
        case .attestation: return .attestationDenied
        case .release: return await leases.lastFailure?.result?.status == .contraindicated ? .attestationDenied : .keyLeaseUnavailable
        }
    }

    /// Unwraps a stored document's DEK with the leased KEK of its class and version, prepared for opening all
    /// of the document's values (one AES-GCM setup per document, kept for the lease epoch in ``dekCache``).
    /// The ciphers of several documents (say, the rows of one retrieval), each prepared once, keyed by
    /// ``documentKey(_:)``.
    func ciphers(for documents: some Sequence<StoredDocument>) async throws -> [String: DEKCipher] {
        var out: [String: DEKCipher] = [:]
        for document in documents where out[Self.documentKey(document)] == nil {
            out[Self.documentKey(document)] = try await cipher(for: document)
        }
        return out
    }

    /// A document's key within its tenant: `<collection>/<id>`.
    static func documentKey(_ document: StoredDocument) -> String { "\(document.collection)/\(document.id)" }

    func cipher(for document: StoredDocument) async throws -> DEKCipher {
        // Keys and epoch in one read: a cached DEK is served only within the epoch whose keys were just checked.
        guard let (keys, epoch) = await keksWithEpoch(document.tenant, document.dataClass), let kek = keys.first(where: { $0.version == document.dekVersion })
        else { throw SealgateError(.keyLeaseUnavailable, "no leased KEK for the document's class and version") }
        let key = DEKCache.Key(
            tenant: document.tenant, collection: document.collection, document: document.id, dataClass: document.dataClass,
            version: document.dekVersion, wrapped: document.wrappedDEK)
        if let cached = dekCache.cipher(key, epoch: epoch) { return cached }
        let cipher = try DEKCipher(dek: Envelope.unwrap(document.wrappedDEK, kek: kek.key, context: document.dekContext()))
        // Kept only if the key set is still the one it was unwrapped under; a clear that ran meanwhile raised the
        // cache's floor past `epoch`, so a late store is refused either way.
        if leases.publishedEpoch == epoch { dekCache.store(key, cipher, epoch: epoch) }
        return cipher
    }

    /// Forgets every prepared DEK, derived tenant key and redactor of epochs before the current one (the key set
    /// changed or the lease was lost).
    func forgetPreparedDEKs() async {
        let current = await leases.epoch
        dekCache.clear(below: current)
        derived.clear(below: current)
    }

    /// Forgets a deleted document's prepared DEKs.
    func forget(tenant: TenantID, collection: CollectionName, document: DocumentID) {
        dekCache.remove(tenant: tenant, collection: collection, document: document)
    }

    /// A per-tenant secret derived (HKDF-SHA256, `info` names its use) from the broker resource
    /// `<tenant>/secret/gateway-salt`: it exists only while that secret is leased, and shredding the tenant destroys it.
    /// Derived once per tenant, use and lease epoch while the secret stays the same (``DerivedKeyCache``).
    func tenantSecret(_ tenant: TenantID, info: String) async -> SymmetricKey? {
        let path = "\(tenant)/secret/\(Self.tenantSecretName)"
        if let held = leases.validSecret(path) { return derived.key(tenant: tenant, use: info, secret: held.secret, epoch: held.epoch) }
        guard let secret = await leases.secret(path) else { return nil }
        return DerivedKeyCache.derive(secret, use: info)
    }

    /// `hmac-sha256:<hex>` of the sorted items under the tenant's audit salt, so low-entropy values (collection
    /// names, chunk ids — document ids are often file paths) cannot be confirmed by guessing; `nil` (no digest in the
    /// record) when the tenant's secret is not leased, never a plain hash anyone could confirm a guess against.
    func auditDigest(_ items: [String], tenant: TenantID) async -> String? {
        guard let salt = await tenantSecret(tenant, info: "audit-salt") else { return nil }
        let joined = Data(items.sorted().joined(separator: "\n").utf8)
        return "hmac-sha256:" + Hex.encode(HMAC<SHA256>.authenticationCode(for: joined, using: salt))
    }

    /// The key of a tenant's question digests (``AuditRecord/questionDigest``), which the tenant may read to check its
    /// receipts; `nil` when no key of the tenant is leased.
    public func questionKey(for tenant: TenantID) async -> Data? {
        await tenantSecret(tenant, info: "question-digest").map { $0.withUnsafeBytes { Data($0) } }
    }

    /// The digest of a question under the tenant's question key; `nil` when the tenant's secret is not leased (a KEK
    /// can be released without it): a plain SHA-256 of a short question would let anyone who reads the audit log
    /// confirm a guess of it, so none is written.
    func questionDigest(_ question: String, tenant: TenantID) async -> String? {
        guard let key = await tenantSecret(tenant, info: "question-digest") else { return nil }
        return "hmac-sha256:" + Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(question.utf8), using: key))
    }

    /// The redactor of a tenant, with its hash-token key when the tenant's keys are leased.
    /// Built once per tenant and lease epoch while the token key stays the same (``DerivedKeyCache``).
    func redactor(for tenant: TenantID) async -> any OutputRedactor {
        let redactors = self.redactors
        let path = "\(tenant)/secret/\(Self.tenantSecretName)"
        if let held = leases.validSecret(path) {
            let tokenKey = derived.key(tenant: tenant, use: "redaction-token", secret: held.secret, epoch: held.epoch).withUnsafeBytes { Data($0) }
            return derived.redactor(tenant: tenant, tokenKey: tokenKey, epoch: held.epoch) { redactors.redactor(tenant: tenant, tokenKey: tokenKey) }
        }
        let key = await tenantSecret(tenant, info: "redaction-token")
        return redactors.redactor(tenant: tenant, tokenKey: key.map { $0.withUnsafeBytes { Data($0) } })
    }
}

extension StoredDocument {
    /// The context of the document's content (title, metadata, chunks): bound to the KEK version at ingest.
    var contentContext: SealingContext {
        SealingContext(
            tenant: tenant, collection: collection, documentID: id, chunkIndex: nil, dataClass: dataClass,
            kekVersion: kekVersion, field: .dek)
    }

    /// The context of the wrapped DEK: bound to the KEK version that wraps it now (or `version`).
    func dekContext(version: Int? = nil) -> SealingContext {
        SealingContext(
            tenant: tenant, collection: collection, documentID: id, chunkIndex: nil, dataClass: dataClass,
            kekVersion: version ?? dekVersion, field: .dek)
    }
}
