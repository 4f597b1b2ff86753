import Foundation
import SealgateCore
import Synchronization

/// The broker's view of its database with the records that control release authenticated under the master key.
///
/// KEKs, secrets and sessions were always sealed; release policies, reference values, admin credentials and the
/// broker's settings (proposals, break-glass overrides, workload enrolments, …) were stored in clear, so anyone
/// who could write the database — a DBA, a backup restore, a compromised replica — could add an admin credential,
/// loosen or delete a policy, or approve a proposal, and every broker would act on it. Here:
/// - every setting is stored sealed (`SGS1` + AES-GCM under the ``KeyProtector``, its name as associated data),
///   so a changed, moved or forged value fails to open;
/// - the policies, the reference values and the admin credentials are each **one** sealed setting
///   (``policiesRecord``, ``referenceValuesRecord``, ``credentialsRecord``), written by compare-and-swap, so a
///   policy or credential cannot be added, removed or replaced one row at a time, and two brokers on one database
///   do not lose each other's change;
/// - once a record was seen sealed (``KeyBroker/establishStoredRecords(_:)`` at start-up), its absence is tampering too.
/// The tables of earlier releases (`policies`, `credentials`, the `reference_values` setting) are read only to
/// adopt them, once, on the operator's word (`sealgate broker --adopt-unsealed-records`).
///
/// Not covered: rolling the whole database (or one record) back to an earlier sealed state — no monotonic
/// counter outside the database exists here; tenants and KEK states (the KEK material itself is sealed).
final class SealedBrokerStore: ForwardingBrokerStore {
    let base: any BrokerStore
    let protector: any KeyProtector
    /// The records this process has seen sealed: from then on their absence is refused, not read as empty.
    private let established = Mutex<Set<String>>([])

    /// The sealed setting holding every release policy (`{id: canonical JSON}`).
    static let policiesRecord = "trust.policies"
    /// The sealed setting holding the stored reference values (`{"json": … | null}`).
    static let referenceValuesRecord = "trust.reference_values"
    /// The sealed setting holding every admin credential (token digests, roles, creation times).
    static let credentialsRecord = "trust.admin_credentials"
    static let trustRecords = [policiesRecord, referenceValuesRecord, credentialsRecord]
    /// The value a trust record begins with in a new database: no policy, no reference values, no credential.
    static func emptyRecord(_ name: String) throws -> Data {
        switch name {
        case referenceValuesRecord: return try KeyBroker.canonical(ReferenceValuesRecord(json: nil))
        case policiesRecord: return try KeyBroker.canonical([String: Data]())
        case credentialsRecord: return try KeyBroker.canonical([CredentialRecord]())
        default: throw KeyBrokerError(.storageUnavailable, "\(name) is no trust record")
        }
    }
    /// What a sealed value begins with; a value without it was written in clear (by an earlier release, or by hand).
    static let marker = Data("SGS1".utf8)

    init(base: any BrokerStore, protector: any KeyProtector) {
        self.base = base
        self.protector = protector
    }

    // MARK: sealing

    static func aad(_ name: String) -> Data { Data("sealgate-broker-record-v1|".utf8) + Data(name.utf8) }

    func seal(_ name: String, _ plain: Data) throws -> Data { Self.marker + (try protector.seal(plain, aad: Self.aad(name))) }

    /// Opens a stored value of `name`; a value in clear or one that fails authentication is refused.
    func open(_ name: String, _ stored: Data) throws -> Data {
        guard stored.starts(with: Self.marker) else {
            throw KeyBrokerError(.storageUnavailable, "the stored record \(name) is not sealed (written in clear: by hand or by an earlier release)")
        }
        do { return try protector.open(Data(stored.dropFirst(Self.marker.count)), aad: Self.aad(name)) } catch {
            throw KeyBrokerError(.storageUnavailable, "the stored record \(name) failed authentication under the master key")
        }
    }

    /// The opened value of `name` and the stored bytes it came from; an absent record that was established is refused.
    private func read(_ name: String) async throws -> (plain: Data?, stored: Data?) {
        guard let stored = try await base.setting(name) else {
            if established.withLock({ $0.contains(name) }) {
                throw KeyBrokerError(.storageUnavailable, "the stored record \(name) is missing")
            }
            return (nil, nil)
        }
        return (try open(name, stored), stored)
    }

    /// Read-modify-write of one record by compare-and-swap (another broker's change in between is re-read).
    func update(_ name: String, _ change: (Data?) throws -> Data) async throws {
        for _ in 0..<16 {
            let current = try await read(name)
            let next = try seal(name, try change(current.plain))
            if try await base.replaceSetting(name, next, ifCurrent: current.stored) {
                markEstablished(name)
                return
            }
        }
        throw KeyBrokerError(.storageUnavailable, "the stored record \(name) kept changing under concurrent writers")
    }

    /// Notes that `name` was seen sealed: from now on its absence is refused.
    func markEstablished(_ name: String) { established.withLock { _ = $0.insert(name) } }

    // MARK: settings

    func setting(_ name: String) async throws -> Data? { try await read(name).plain }

    func putSetting(_ name: String, _ value: Data) async throws {
        try await base.putSetting(name, try seal(name, value))
        markEstablished(name)
    }

    /// Compare-and-swap on the opened value: the store's swap is made against the stored bytes that opened to
    /// `expected`, so a change by another broker in between still fails it.
    func replaceSetting(_ name: String, _ value: Data, ifCurrent expected: Data?) async throws -> Bool {
        let current = try await read(name)
        guard current.plain == expected else { return false }
        guard try await base.replaceSetting(name, try seal(name, value), ifCurrent: current.stored) else { return false }
        markEstablished(name)
        return true
    }

    // MARK: policies, reference values, credentials

    func policies() async throws -> [(id: String, json: Data)] {
        try decodePolicies(try await read(Self.policiesRecord).plain).sorted { $0.key < $1.key }.map { (id: $0.key, json: $0.value) }
    }

    func putPolicy(id: String, json: Data) async throws {
        try await update(Self.policiesRecord) { plain in
            var all = try decodePolicies(plain)
            all[id] = json
            return try KeyBroker.canonical(all)
        }
    }

    func deletePolicy(id: String) async throws -> Bool {
        var deleted = false
        try await update(Self.policiesRecord) { plain in
            var all = try decodePolicies(plain)
            deleted = all.removeValue(forKey: id) != nil
            return try KeyBroker.canonical(all)
        }
        return deleted
    }

    private func decodePolicies(_ plain: Data?) throws -> [String: Data] {
        guard let plain else { return [:] }
        return try JSONDecoder().decode([String: Data].self, from: plain)
    }

    func referenceValues() async throws -> Data? {
        guard let plain = try await read(Self.referenceValuesRecord).plain else { return nil }
        return try JSONDecoder().decode(ReferenceValuesRecord.self, from: plain).json
    }

    func putReferenceValues(_ json: Data) async throws {
        try await update(Self.referenceValuesRecord) { _ in try KeyBroker.canonical(ReferenceValuesRecord(json: json)) }
    }

    func credential(tokenSHA256: String) async throws -> AdminCredential? {
        try await credentials().first { $0.tokenSHA256 == tokenSHA256 }
    }

    func credentials() async throws -> [AdminCredential] {
        try decodeCredentials(try await read(Self.credentialsRecord).plain).map(\.credential)
    }

    func insertCredential(_ credential: AdminCredential) async throws {
        try await update(Self.credentialsRecord) { plain in
            var all = try decodeCredentials(plain)
            guard !all.contains(where: { $0.name == credential.name || $0.tokenSHA256 == credential.tokenSHA256 }) else {
                throw KeyBrokerError(.alreadyExists, "admin credential \(credential.name)")
            }
            all.append(CredentialRecord(credential))
            return try KeyBroker.canonical(all.sorted { $0.name < $1.name })
        }
    }

    func deleteCredential(name: String) async throws -> Bool { try await deleteCredential(name: name, keepingAnAdmin: false) }

    /// Deletes a credential; with `keepingAnAdmin`, refuses (`conflict`, `admin.credential.last_admin`) when that
    /// would leave no credential holding `admin` — checked inside the compare-and-swap, so two brokers revoking the
    /// last two admins at once cannot both succeed.
    func deleteCredential(name: String, keepingAnAdmin: Bool) async throws -> Bool {
        var deleted = false
        try await update(Self.credentialsRecord) { plain in
            var all = try decodeCredentials(plain)
            deleted = all.contains { $0.name == name }
            all.removeAll { $0.name == name }
            if keepingAnAdmin, deleted, !all.contains(where: { $0.roles.contains(AdminRole.admin.rawValue) }) {
                throw ReleaseDecision.deny(.conflict, "admin.credential.last_admin")
            }
            return try KeyBroker.canonical(all)
        }
        return deleted
    }

    private func decodeCredentials(_ plain: Data?) throws -> [CredentialRecord] {
        guard let plain else { return [] }
        return try JSONDecoder().decode([CredentialRecord].self, from: plain)
    }

    // Tenants, KEKs (their material sealed), secrets (sealed) and shredding: the base store's (``ForwardingBrokerStore``).
}

/// The stored reference values, or none (a record that exists either way, so that its removal is noticed).
struct ReferenceValuesRecord: Codable {
    var json: Data?
}

/// An admin credential as the sealed credentials record keeps it (times to the microsecond: approvals compare them).
struct CredentialRecord: Codable {
    var name: String
    var tokenSHA256: String
    var roles: [String]
    var createdAt: Double

    enum CodingKeys: String, CodingKey {
        case name, roles
        case tokenSHA256 = "token_sha256"
        case createdAt = "created_at"
    }

    init(_ credential: AdminCredential) {
        name = credential.name
        tokenSHA256 = credential.tokenSHA256
        roles = credential.roles.map(\.rawValue)
        createdAt = credential.createdAt.timeIntervalSince1970
    }

    var credential: AdminCredential {
        AdminCredential(
            name: name, tokenSHA256: tokenSHA256, roles: roles.compactMap(AdminRole.init(rawValue:)), createdAt: Date(timeIntervalSince1970: createdAt))
    }
}
