import Crypto
import Foundation
import SealgateCore

/// Model keys (`<scope>/model/<name>`): one AES-256 key per sealed model, stored like a secret (sealed under the
/// master key, under a name no secret path can reach) and released only through ``resource(_:path:client:)``.
extension KeyBroker {
    /// The stored name of a model key: `model:<name>` (`:` is not allowed in a secret's path segment).
    static func modelKeyName(_ resource: ModelKeyResource) -> String { "model:\(resource.name)" }

    /// Creates the model key for `resource` (random 32 bytes); `already_exists` when it exists (role key-manager).
    public func createModelKey(resource path: String, by principal: AdminCredential) async -> AdminResult<String> {
        let tenant = ModelKeyResource(path)?.scope.rawValue ?? "-"
        return await adminAction("create_model_key", by: principal, tenant: tenant, target: ModelKeyResource(path)?.description) {
            guard let resource = ModelKeyResource(path) else { throw ReleaseDecision.deny(.malformedRequest, "admin.model.resource") }
            _ = try await existingTenant(resource.scope.rawValue)
            let name = Self.modelKeyName(resource)
            if try await store.secret(tenant: resource.scope, name: name) != nil { throw ReleaseDecision.deny(.alreadyExists, "admin.model") }
            let raw = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
            let sealed = try protector.seal(raw, aad: SealingAAD.modelKey(resource))
            try await store.putSecret(StoredSecret(tenant: resource.scope, name: name, sealedValue: sealed, createdAt: now()))
            return resource.description
        }
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
            guard let key = try await modelKey(resource) else { throw ReleaseDecision.deny(.unknownResource, "admin.model") }
            return Base64URL.encode(try ModelKeyWrap.wrap(dataKey, under: key, for: resource))
        }
    }

    /// The model key of `resource`, opened from the store; `nil` when it does not exist.
    func modelKey(_ resource: ModelKeyResource) async throws -> SymmetricKey? {
        guard let stored = try await store.secret(tenant: resource.scope, name: Self.modelKeyName(resource)) else { return nil }
        return SymmetricKey(data: try protector.open(stored.sealedValue, aad: SealingAAD.modelKey(resource)))
    }

    /// The release of a model key: canonical ``ModelKeyRelease`` JSON naming its resource; `nil` when absent.
    func modelKeyRelease(_ resource: ModelKeyResource) async throws -> Data? {
        guard let key = try await modelKey(resource) else { return nil }
        let raw = key.withUnsafeBytes { Data($0) }
        return try Self.canonical(ModelKeyRelease(resource: resource.description, key: Base64URL.encode(raw)))
    }
}

extension SealingAAD {
    static func modelKey(_ resource: ModelKeyResource) -> Data { Data("sealgate-model-key-v1|\(resource)".utf8) }
}
