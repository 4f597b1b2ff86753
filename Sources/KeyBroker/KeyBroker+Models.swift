import Attestation
import Crypto
import Foundation
import ReleasePolicy
import SealgateCore

/// A model key as the admin API reports it (never the key).
public struct ModelKeyInfo: Codable, Sendable, Equatable {
    /// `<scope>/model/<name>`.
    public var resource: String
    /// The expected model digest recorded with the key (`sha256:<hex>`, the OMS manifest digest a sealed model's
    /// manifest carries), the release-policy input `model.digest`; absent when none was recorded.
    public var digest: String?

    /// Creates the description of a model key.
    public init(resource: String, digest: String?) {
        self.resource = resource
        self.digest = digest
    }
}

/// What a model key's sealed value holds: the key and the expected model digest. Sealed as one value under an AAD
/// naming the resource, so neither can be swapped without the master key.
struct ModelKeyRecord: Codable, Sendable {
    /// base64url of the 32 key bytes.
    let key: String
    let digest: String?
}

/// Model keys (`<scope>/model/<name>`): one AES-256 key per sealed model, stored like a secret (sealed under the
/// master key, under a name no secret path can reach) with the digest of the model it unlocks, and released only
/// through ``resource(_:path:client:)``.
extension KeyBroker {
    /// The stored name of a model key: `model:<name>` (`:` is not allowed in a secret's path segment).
    static func modelKeyName(_ resource: ModelKeyResource) -> String { "model:\(resource.name)" }

    /// Creates the model key for `resource` (random 32 bytes), recording `digest` (`sha256:<hex>`) as the expected
    /// model digest when given; `already_exists` when it exists (role key-manager).
    public func createModelKey(resource path: String, digest: String? = nil, by principal: AdminCredential) async -> AdminResult<ModelKeyInfo> {
        let tenant = ModelKeyResource(path)?.scope.rawValue ?? "-"
        return await adminAction("create_model_key", by: principal, tenant: tenant, target: ModelKeyResource(path)?.description) {
            guard let resource = ModelKeyResource(path) else { throw ReleaseDecision.deny(.malformedRequest, "admin.model.resource") }
            let normalized = try Self.modelDigest(digest)
            _ = try await existingTenant(resource.scope.rawValue)
            if try await store.secret(tenant: resource.scope, name: Self.modelKeyName(resource)) != nil {
                throw ReleaseDecision.deny(.alreadyExists, "admin.model")
            }
            let raw = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
            try await storeModelKey(resource, ModelKeyRecord(key: Base64URL.encode(raw), digest: normalized))
            return ModelKeyInfo(resource: resource.description, digest: normalized)
        }
    }

    /// Records (or replaces) the expected model digest of an existing model key; the key is unchanged
    /// (`unknown_resource` when there is none; role key-manager).
    public func setModelDigest(resource path: String, digest: String, by principal: AdminCredential) async -> AdminResult<ModelKeyInfo> {
        let tenant = ModelKeyResource(path)?.scope.rawValue ?? "-"
        if let refusal = await quorumRefusal("set_model_digest", tenant: tenant, target: path, by: principal) { return .failure(refusal) }
        return await performSetModelDigest(resource: path, digest: digest, by: principal)
    }

    func performSetModelDigest(resource path: String, digest: String, by principal: AdminCredential) async -> AdminResult<ModelKeyInfo> {
        let tenant = ModelKeyResource(path)?.scope.rawValue ?? "-"
        return await adminAction("set_model_digest", by: principal, tenant: tenant, target: ModelKeyResource(path)?.description) {
            guard let resource = ModelKeyResource(path) else { throw ReleaseDecision.deny(.malformedRequest, "admin.model.resource") }
            guard let normalized = try Self.modelDigest(digest) else { throw ReleaseDecision.deny(.malformedRequest, "admin.model.digest") }
            _ = try await existingTenant(resource.scope.rawValue)
            guard let record = try await modelKeyRecord(resource) else { throw ReleaseDecision.deny(.unknownResource, "admin.model") }
            try await storeModelKey(resource, ModelKeyRecord(key: record.key, digest: normalized))
            return ModelKeyInfo(resource: resource.description, digest: normalized)
        }
    }

    /// The model keys of a tenant with their expected digests (never the keys).
    public func modelKeys(tenant: String) async throws -> [ModelKeyInfo] {
        guard let id = TenantID(tenant) else { return [] }
        var out: [ModelKeyInfo] = []
        for stored in try await store.secretNames(tenant: id) where stored.hasPrefix("model:") {
            guard let resource = ModelKeyResource("\(tenant)/model/\(stored.dropFirst("model:".count))"),
                let record = try await modelKeyRecord(resource)
            else { continue }
            out.append(ModelKeyInfo(resource: resource.description, digest: record.digest))
        }
        return out
    }

    /// Wraps a sealed model's 32-byte data key under the model key of `resource` (``ModelKeyWrap``), for
    /// `sealgate model seal`: the model key itself never leaves the broker except by an attested release (role
    /// key-manager).
    public func wrapModelDataKey(resource path: String, dataKey: Data, by principal: AdminCredential) async -> AdminResult<String> {
        let tenant = ModelKeyResource(path)?.scope.rawValue ?? "-"
        return await adminAction("wrap_model_key", by: principal, tenant: tenant, target: ModelKeyResource(path)?.description) {
            guard let resource = ModelKeyResource(path) else { throw ReleaseDecision.deny(.malformedRequest, "admin.model.resource") }
            guard dataKey.count == 32 else { throw ReleaseDecision.deny(.malformedRequest, "admin.model.data_key") }
            _ = try await existingTenant(resource.scope.rawValue)
            guard let record = try await modelKeyRecord(resource), let key = Base64URL.decode(record.key) else {
                throw ReleaseDecision.deny(.unknownResource, "admin.model")
            }
            return Base64URL.encode(try ModelKeyWrap.wrap(dataKey, under: SymmetricKey(data: key), for: resource))
        }
    }

    /// The sealed record of `resource`, opened; `nil` when it does not exist. A value of exactly 32 bytes is a key
    /// stored before digests were recorded (no digest).
    func modelKeyRecord(_ resource: ModelKeyResource) async throws -> ModelKeyRecord? {
        guard let stored = try await store.secret(tenant: resource.scope, name: Self.modelKeyName(resource)) else { return nil }
        let plain = try protector.open(stored.sealedValue, aad: SealingAAD.modelKey(resource))
        if plain.count == 32 { return ModelKeyRecord(key: Base64URL.encode(plain), digest: nil) }
        return try JSONDecoder().decode(ModelKeyRecord.self, from: plain)
    }

    /// The release of a model key: canonical ``ModelKeyRelease`` JSON naming its resource; `nil` when absent.
    func modelKeyRelease(_ record: ModelKeyRecord, resource: ModelKeyResource) throws -> Data {
        try Self.canonical(ModelKeyRelease(resource: resource.description, key: record.key))
    }

    private func storeModelKey(_ resource: ModelKeyResource, _ record: ModelKeyRecord) async throws {
        let sealed = try protector.seal(try Self.canonical(record), aad: SealingAAD.modelKey(resource))
        try await store.putSecret(StoredSecret(tenant: resource.scope, name: Self.modelKeyName(resource), sealedValue: sealed, createdAt: now()))
    }

    /// `nil` for no digest; the normalised `sha256:<hex>` otherwise (`malformed_request` when it is not one).
    static func modelDigest(_ digest: String?) throws -> String? {
        guard let digest else { return nil }
        guard let normalized = ImageRequirement.normalized(digest) else { throw ReleaseDecision.deny(.malformedRequest, "admin.model.digest") }
        return normalized
    }
}

extension SealingAAD {
    static func modelKey(_ resource: ModelKeyResource) -> Data { Data("sealgate-model-key-v1|\(resource)".utf8) }
}
