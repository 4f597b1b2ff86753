import Attestation
import Crypto
import Foundation
import ReleasePolicy
import SealgateCore

/// A model key as the admin API reports it (never the key).
public struct ModelKeyInfo: Codable, Sendable, Equatable {
    /// `<tenant>/model/<name>`.
    public var resource: String
    /// The model digest registered with the key (`sha256:<hex>`), the release-policy input `model.digest`.
    public var digest: String

    /// Creates the description of a model key.
    public init(resource: String, digest: String) {
        self.resource = resource
        self.digest = digest
    }
}

/// What a model key's sealed value holds: the registered digest and the key. Sealed as one value, under an AAD
/// naming the resource, so neither can be swapped without the master key.
struct ModelKeyRecord: Codable, Sendable {
    let digest: String
    /// base64url of the key bytes.
    let key: String
}

extension KeyBroker {
    /// Model keys live in the secret store under `model/<name>`: a name no `<tenant>/secret/<tag>` request can
    /// reach (a path segment never contains `/`), and which ``secretNames(tenant:)`` does not list.
    static let modelPrefix = "model/"

    /// Stores a model key `<tenant>/model/<name>` with the digest of the model it unlocks (for an OpenSSF-signed
    /// model, the manifest digest `sealgate model verify` prints); a random 32-byte key when `value` is `nil`.
    /// Release policies see the digest as `model.digest`.
    public func putModelKey(
        tenant: String, name: String, digest: String, value: Data?, by principal: AdminCredential
    ) async -> AdminResult<ModelKeyInfo> {
        let resource = "\(tenant)/model/\(name)"
        return await adminAction("put_model_key", by: principal, tenant: tenant, target: resource) {
            let (tenantID, _) = try await existingTenant(tenant)
            guard ResourceRef(path: resource) != nil else { throw ReleaseDecision.deny(.malformedRequest, "admin.model.name") }
            guard let normalized = ImageRequirement.normalized(digest) else { throw ReleaseDecision.deny(.malformedRequest, "admin.model.digest") }
            guard let bytes = value ?? Optional(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }), !bytes.isEmpty, bytes.count <= 64 * 1024 else {
                throw ReleaseDecision.deny(.malformedRequest, "admin.model.value")
            }
            let record = try Self.canonical(ModelKeyRecord(digest: normalized, key: Base64URL.encode(bytes)))
            let sealed = try protector.seal(record, aad: SealingAAD.model(tenant: tenantID, name: name))
            try await store.putSecret(StoredSecret(tenant: tenantID, name: Self.modelPrefix + name, sealedValue: sealed, createdAt: now()))
            return ModelKeyInfo(resource: resource, digest: normalized)
        }
    }

    /// The model keys of a tenant with their digests (never the keys).
    public func modelKeys(tenant: String) async throws -> [ModelKeyInfo] {
        guard let id = TenantID(tenant) else { return [] }
        var out: [ModelKeyInfo] = []
        for stored in try await store.secretNames(tenant: id) where stored.hasPrefix(Self.modelPrefix) {
            let name = String(stored.dropFirst(Self.modelPrefix.count))
            if let record = try await modelKey(tenant: id, name: name) {
                out.append(ModelKeyInfo(resource: "\(tenant)/model/\(name)", digest: record.digest))
            }
        }
        return out
    }

    /// The sealed record of a model key, opened; `nil` when there is none.
    func modelKey(tenant: TenantID, name: String) async throws -> ModelKeyRecord? {
        guard let stored = try await store.secret(tenant: tenant, name: Self.modelPrefix + name) else { return nil }
        let plain = try protector.open(stored.sealedValue, aad: SealingAAD.model(tenant: tenant, name: name))
        return try JSONDecoder().decode(ModelKeyRecord.self, from: plain)
    }
}
