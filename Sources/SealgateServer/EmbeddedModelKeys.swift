import Attestation
import Crypto
import Foundation
import KBSProtocol
import KeyBroker
import Logging
import ReleasePolicy
import SealgateCore
import StorageSQLite

/// Model-key administration of a gateway's embedded broker (`<data-dir>/broker`), for one machine without a standalone
/// broker: `sealgate keys provision-model --data-dir D` and `sealgate model seal --data-dir D`. The same operations as
/// the admin API's (`docs/models.md`), run on the embedded broker's own database and master key, so the model key
/// never leaves that directory; the gateway's loader gets it by an attested release like any broker's.
public struct EmbeddedModelKeys: Sendable {
    let broker: KeyBroker
    let store: SQLiteBrokerStore
    let admin: AdminCredential

    /// Opens the embedded broker of the gateway whose data directory is `dataDir` (created if absent, mode 0700).
    /// - Throws: when the master key or the database cannot be opened.
    public static func open(dataDir: String) async throws -> EmbeddedModelKeys {
        try FileManager.default.createDirectory(
            atPath: dataDir + "/broker", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let store = try await SQLiteBrokerStore(path: dataDir + "/broker/broker.sqlite", logger: Logger(label: "sealgate-embedded-broker"))
        do {
            let broker = KeyBroker(
                verifiers: [], referenceValues: ReferenceValues(sets: [], acceptMockEvidence: false), policies: try PolicySet([]), store: store,
                protector: try MasterKey.load(path: dataDir + "/broker/master.key"), tokenKey: P256.Signing.PrivateKey())
            // As the gateway's own start-up does (its database and master key share this directory).
            _ = try await broker.establishStoredRecords(.adoptAny)
            let admin = AdminCredential(name: "local:" + dataDir, tokenSHA256: "", roles: [.admin], createdAt: Date())
            return EmbeddedModelKeys(broker: broker, store: store, admin: admin)
        } catch {
            await store.close()
            throw error
        }
    }

    /// Creates the model key `resource` (and its tenant, which the gateway's start-up would create anyway) if absent;
    /// records `digest` as its expected model digest when given. Idempotent.
    /// - Returns: the key's description (never the key).
    /// - Throws: ``SealgateError`` naming the broker's reason.
    public func provision(_ resource: ModelKeyResource, digest: String?) async throws -> ModelKeyInfo {
        if case .failure(let denial) = await broker.createTenant(resource.scope.rawValue, by: admin), denial.reason != .alreadyExists {
            throw SealgateError(.releaseDenied, "the embedded broker refused the tenant \(resource.scope): \(denial.reason.rawValue)")
        }
        switch await broker.createModelKey(resource: resource.description, digest: digest, by: admin) {
        case .success(let info): return info
        case .failure(let denial) where denial.reason == .alreadyExists:
            guard let digest else { return ModelKeyInfo(resource: resource.description, digest: nil) }
            switch await broker.setModelDigest(resource: resource.description, digest: digest, by: admin) {
            case .success(let info): return info
            case .failure(let denial): throw SealgateError(.releaseDenied, "the embedded broker refused the digest: \(denial.reason.rawValue)")
            }
        case .failure(let denial): throw SealgateError(.releaseDenied, "the embedded broker refused \(resource): \(denial.reason.rawValue)")
        }
    }

    /// Wraps a sealed model's 32-byte data key under the model key of `resource` (``ModelKeyWrap``).
    /// - Throws: ``SealgateError`` naming the broker's reason (`unknown_resource` when the key was not provisioned).
    public func wrap(_ dataKey: Data, for resource: ModelKeyResource) async throws -> Data {
        switch await broker.wrapModelDataKey(resource: resource.description, dataKey: dataKey, by: admin) {
        case .success(let text):
            guard let wrapped = Base64URL.decode(text) else { throw SealgateError(.internalError, "the wrapped key is not base64url") }
            return wrapped
        case .failure(let denial):
            throw SealgateError(
                .releaseDenied, "the embedded broker refused to wrap under \(resource): \(denial.reason.rawValue) (provision it first: sealgate keys provision-model --data-dir)")
        }
    }

    /// Closes the database.
    public func close() async { await store.close() }
}
