import Foundation
import SealgateCore

/// The lifecycle state of one KEK version.
public enum KEKState: String, Sendable, Codable, Equatable {
    /// Released; the newest active version wraps new DEKs.
    case active
    /// No longer released, its material zeroed (data still wrapped under it is unreadable: re-wrap before).
    case retired
    /// Key material destroyed by shredding.
    case destroyed
}

/// One KEK version as the broker stores it: sealed under the master key (empty once retired or destroyed).
public struct StoredKEK: Sendable, Equatable {
    public let tenant: TenantID
    public let dataClass: DataClass
    public let version: Int
    public var sealedKey: Data
    public let createdAt: Date
    public var state: KEKState

    public init(tenant: TenantID, dataClass: DataClass, version: Int, sealedKey: Data, createdAt: Date, state: KEKState = .active) {
        self.tenant = tenant
        self.dataClass = dataClass
        self.version = version
        self.sealedKey = sealedKey
        self.createdAt = createdAt
        self.state = state
    }
}

/// An opaque tenant secret (`<tenant>/secret/<name>`), sealed under the master key.
public struct StoredSecret: Sendable, Equatable {
    public let tenant: TenantID
    public let name: String
    public let sealedValue: Data
    public let createdAt: Date

    public init(tenant: TenantID, name: String, sealedValue: Data, createdAt: Date) {
        self.tenant = tenant
        self.name = name
        self.sealedValue = sealedValue
        self.createdAt = createdAt
    }
}

/// A tenant as the broker knows it. Encodes `created_at` as RFC 3339.
public struct BrokerTenant: Sendable, Equatable, Encodable {
    public var id: String
    /// `active` or `shredded`.
    public var state: String
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, state
        case createdAt = "created_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(state, forKey: .state)
        try c.encode(AuditRecord.timestamp(createdAt), forKey: .createdAt)
    }

    public init(id: String, state: String = "active", createdAt: Date) {
        self.id = id
        self.state = state
        self.createdAt = createdAt
    }
}

/// An admin API credential: only the SHA-256 of the bearer token is stored.
public struct AdminCredential: Sendable, Equatable {
    public var name: String
    public var tokenSHA256: String
    public var roles: [AdminRole]
    public var createdAt: Date
    /// A credential revoked since: it still authenticates as itself, and every call is refused `credential_revoked`.
    public var revoked: Bool

    public init(name: String, tokenSHA256: String, roles: [AdminRole], createdAt: Date, revoked: Bool = false) {
        self.name = name
        self.tokenSHA256 = tokenSHA256
        self.roles = roles
        self.createdAt = createdAt
        self.revoked = revoked
    }
}

/// Roles of admin credentials. `admin` implies every other role.
public enum AdminRole: String, Sendable, Codable, CaseIterable {
    /// Read tenants, KEK metadata, policies and reference values (never key material).
    case reader
    /// Create tenants, KEKs and secrets; rotate and retire KEK versions.
    case keyManager = "key-manager"
    /// Set release policies and reference values.
    case policyManager = "policy-manager"
    /// Destroy every key of a tenant.
    case shredder
    /// Everything, including creating credentials.
    case admin
}

/// Persistent broker state: tenants, sealed KEKs and secrets, policies, reference values, admin credentials.
public protocol BrokerStore: Sendable {
    func tenants() async throws -> [BrokerTenant]
    /// Inserts a tenant; fails with ``BrokerReason/alreadyExists`` if it exists.
    func insertTenant(_ tenant: BrokerTenant) async throws
    /// Every version of one tenant × class, ascending.
    func keks(tenant: TenantID, dataClass: DataClass) async throws -> [StoredKEK]
    /// Every KEK version of a tenant.
    func keks(tenant: TenantID) async throws -> [StoredKEK]
    /// Inserts a new version; fails if that version exists.
    func insert(_ kek: StoredKEK) async throws
    /// Changes one version's state; the key material is zeroed unless the state is `active` (a retired version is
    /// never released again, so nothing — not even its state set back by a database writer — can release it).
    func setState(_ state: KEKState, tenant: TenantID, dataClass: DataClass, version: Int) async throws
    func secret(tenant: TenantID, name: String) async throws -> StoredSecret?
    func secretNames(tenant: TenantID) async throws -> [String]
    func putSecret(_ secret: StoredSecret) async throws
    /// In one transaction: destroys every KEK version's material, deletes every secret, marks the tenant shredded.
    func shred(tenant: TenantID) async throws
    /// Whether any KEK version or secret is stored, whatever tenant rows say (a database that holds key material
    /// is never taken for a new one).
    func holdsKeyMaterial() async throws -> Bool
    /// Release policies as stored JSON, by id.
    func policies() async throws -> [(id: String, json: Data)]
    func putPolicy(id: String, json: Data) async throws
    /// Returns whether a policy was deleted.
    func deletePolicy(id: String) async throws -> Bool
    func referenceValues() async throws -> Data?
    func putReferenceValues(_ json: Data) async throws
    func credential(tokenSHA256: String) async throws -> AdminCredential?
    func credentials() async throws -> [AdminCredential]
    func insertCredential(_ credential: AdminCredential) async throws
    /// Returns whether a credential was deleted.
    func deleteCredential(name: String) async throws -> Bool
    /// A named broker setting (the workload CA versions with their sealed keys, workload enrolments), as JSON.
    func setting(_ name: String) async throws -> Data?
    /// Stores or replaces a named setting.
    func putSetting(_ name: String, _ value: Data) async throws
    /// Sets `name` to `value` only if it still holds `expected` (`nil`: only if it is absent), in one statement;
    /// whether it did. Several brokers changing one record (proposals) each see the other's change or fail.
    func replaceSetting(_ name: String, _ value: Data, ifCurrent expected: Data?) async throws -> Bool
}

/// A store that passes every call to ``base`` unless it implements the call itself (``SealedBrokerStore``, and
/// stores in tests that interpose on a few calls).
public protocol ForwardingBrokerStore: BrokerStore {
    /// The store calls go to.
    var base: any BrokerStore { get }
}

extension ForwardingBrokerStore {
    public func tenants() async throws -> [BrokerTenant] { try await base.tenants() }
    public func insertTenant(_ tenant: BrokerTenant) async throws { try await base.insertTenant(tenant) }
    public func keks(tenant: TenantID, dataClass: DataClass) async throws -> [StoredKEK] { try await base.keks(tenant: tenant, dataClass: dataClass) }
    public func keks(tenant: TenantID) async throws -> [StoredKEK] { try await base.keks(tenant: tenant) }
    public func insert(_ kek: StoredKEK) async throws { try await base.insert(kek) }
    public func setState(_ state: KEKState, tenant: TenantID, dataClass: DataClass, version: Int) async throws {
        try await base.setState(state, tenant: tenant, dataClass: dataClass, version: version)
    }
    public func secret(tenant: TenantID, name: String) async throws -> StoredSecret? { try await base.secret(tenant: tenant, name: name) }
    public func secretNames(tenant: TenantID) async throws -> [String] { try await base.secretNames(tenant: tenant) }
    public func putSecret(_ secret: StoredSecret) async throws { try await base.putSecret(secret) }
    public func shred(tenant: TenantID) async throws { try await base.shred(tenant: tenant) }
    public func holdsKeyMaterial() async throws -> Bool { try await base.holdsKeyMaterial() }
    public func policies() async throws -> [(id: String, json: Data)] { try await base.policies() }
    public func putPolicy(id: String, json: Data) async throws { try await base.putPolicy(id: id, json: json) }
    public func deletePolicy(id: String) async throws -> Bool { try await base.deletePolicy(id: id) }
    public func referenceValues() async throws -> Data? { try await base.referenceValues() }
    public func putReferenceValues(_ json: Data) async throws { try await base.putReferenceValues(json) }
    public func credential(tokenSHA256: String) async throws -> AdminCredential? { try await base.credential(tokenSHA256: tokenSHA256) }
    public func credentials() async throws -> [AdminCredential] { try await base.credentials() }
    public func insertCredential(_ credential: AdminCredential) async throws { try await base.insertCredential(credential) }
    public func deleteCredential(name: String) async throws -> Bool { try await base.deleteCredential(name: name) }
    public func setting(_ name: String) async throws -> Data? { try await base.setting(name) }
    public func putSetting(_ name: String, _ value: Data) async throws { try await base.putSetting(name, value) }
    public func replaceSetting(_ name: String, _ value: Data, ifCurrent expected: Data?) async throws -> Bool {
        try await base.replaceSetting(name, value, ifCurrent: expected)
    }
}
