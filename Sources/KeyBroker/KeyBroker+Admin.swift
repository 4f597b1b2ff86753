import Attestation
import Crypto
import Foundation
import ReferenceImages
import ReleasePolicy
import SealgateCore

/// KEK metadata the admin API returns (never key material).
public struct KEKInfo: Codable, Sendable, Equatable {
    public var resource: String
    public var version: Int
    public var state: KEKState
    /// RFC 3339.
    public var createdAt: String

    init(resource: String, version: Int, state: KEKState, createdAt: Date) {
        self.resource = resource
        self.version = version
        self.state = state
        self.createdAt = AuditRecord.timestamp(createdAt)
    }

    enum CodingKeys: String, CodingKey {
        case resource, version, state
        case createdAt = "created_at"
    }
}

/// The result of an admin call: a value, or a denial with its reason.
public typealias AdminResult<T: Sendable> = Result<T, ReleaseDecision>


extension KeyBroker {
    /// Resolves an admin bearer token to its credential. An unknown token is counted (never audited: anyone who can
    /// reach the port could grow the log); a failed store is `storage_unavailable`.
    public func authenticate(_ bearer: String) async -> AdminResult<AdminCredential> {
        let digest = Hex.encode(SHA256.hash(data: Data(bearer.utf8)))
        let found: AdminCredential?
        do { found = try await store.credential(tokenSHA256: digest) } catch {
            return .failure(.deny(.storageUnavailable, "admin.credential.store"))
        }
        guard let credential = found else {
            if let name = try? await revokedCredentials()[digest] {
                // A once-valid token: resolved as revoked, so the call is refused and audited by name.
                return .success(AdminCredential(name: name, tokenSHA256: digest, roles: [], createdAt: now(), revoked: true))
            }
            await refuseUnauthenticated()
            return .failure(.deny(.adminUnauthenticated, "admin.credential"))
        }
        return .success(credential)
    }

    /// Counts a request that presented no admin credential this broker knows.
    func refuseUnauthenticated() async {
        await emit(.admin, .deny(.adminUnauthenticated, "admin.credential"), tee: "-", resourceType: "admin_auth", principal: "-")
    }

    /// Whether an authenticated credential holds `role` (or `admin`); a refusal is recorded.
    public func authorize(_ credential: AdminCredential, role: AdminRole) async -> AdminResult<AdminCredential> {
        if credential.revoked {
            await emit(.admin, .deny(.credentialRevoked, "admin.credential.revoked"), tee: "-", resourceType: "admin_auth", principal: credential.name)
            return .failure(.deny(.credentialRevoked, "admin.credential.revoked"))
        }
        guard credential.roles.contains(role) || credential.roles.contains(.admin) else {
            await emit(.admin, .deny(.roleMissing, "admin.role.\(role.rawValue)"), tee: "-", resourceType: "admin_auth", principal: credential.name)
            return .failure(.deny(.roleMissing, "admin.role.\(role.rawValue)"))
        }
        return .success(credential)
    }

    /// Resolves an admin bearer token to its credential if it holds `role` (or `admin`).
    public func authorize(_ bearer: String?, role: AdminRole) async -> AdminResult<AdminCredential> {
        guard let bearer, !bearer.isEmpty else { return .failure(.deny(.adminUnauthenticated, "admin.credential")) }
        switch await authenticate(bearer) {
        case .failure(let denial): return .failure(denial)
        case .success(let credential): return await authorize(credential, role: role)
        }
    }

    /// Records a refused admin read (a bad dashboard data request) like any refused admin action: an audit
    /// record, `sealgate_admin_actions_total{action, outcome="denied", reason}` and a security event.
    public func refuseRead(_ action: String, reason: BrokerReason, rule: String, by principal: AdminCredential) async -> ReleaseDecision {
        let decision = ReleaseDecision.deny(reason, rule)
        await emit(.admin, decision, tee: "-", resourceType: action, principal: principal.name)
        return decision
    }

    /// Creates the first admin credential when none exists; returns its bearer token (shown once), else `nil`.
    public func bootstrapAdmin() async throws -> String? {
        guard try await store.credentials().isEmpty else { return nil }
        let token = "sgk_" + Self.randomToken()
        try await store.insertCredential(
            AdminCredential(name: "bootstrap-admin", tokenSHA256: Hex.encode(SHA256.hash(data: Data(token.utf8))), roles: [.admin], createdAt: now()))
        return token
    }

    /// Runs an admin action and records it (audit, metrics, security event) whatever the outcome.
    func adminAction<T: Sendable>(
        _ action: String, by principal: AdminCredential, tenant: String = "-", target: String?, _ body: () async throws -> T
    ) async -> AdminResult<T> {
        do {
            let value = try await body()
            await emit(.admin, ReleaseDecision(allowed: true, reason: .granted, rule: "admin.\(action)", result: nil), tee: "-", tenant: tenant, resource: target, resourceType: action, principal: principal.name)
            return .success(value)
        } catch let denial as ReleaseDecision {
            await emit(.admin, denial, tee: "-", tenant: tenant, resource: target, resourceType: action, principal: principal.name)
            return .failure(denial)
        } catch let error as KeyBrokerError {
            let denial = ReleaseDecision.deny(error.reason, "admin.\(action)")
            await emit(.admin, denial, tee: "-", tenant: tenant, resource: target, resourceType: action, principal: principal.name)
            return .failure(denial)
        } catch {
            let denial = ReleaseDecision.deny(.storageUnavailable, "admin.\(action)")
            await emit(.admin, denial, tee: "-", tenant: tenant, resource: target, resourceType: action, principal: principal.name)
            return .failure(denial)
        }
    }

    func existingTenant(_ id: String) async throws -> (TenantID, BrokerTenant) {
        guard let tenantID = TenantID(id), let tenant = try await store.tenants().first(where: { $0.id == id }) else {
            throw ReleaseDecision.deny(.unknownResource, "admin.tenant")
        }
        guard tenant.state == "active" else { throw ReleaseDecision.deny(.tenantShredded, "admin.tenant.shredded") }
        return (tenantID, tenant)
    }

    /// Creates a tenant (idempotent creation is refused: `already_exists`).
    public func createTenant(_ id: String, by principal: AdminCredential) async -> AdminResult<BrokerTenant> {
        await adminAction("create_tenant", by: principal, tenant: id, target: id) {
            guard TenantID(id) != nil else { throw ReleaseDecision.deny(.malformedRequest, "admin.tenant.id") }
            guard try await !store.tenants().contains(where: { $0.id == id }) else {
                throw ReleaseDecision.deny(.alreadyExists, "admin.tenant")
            }
            let tenant = BrokerTenant(id: id, createdAt: now())
            try await store.insertTenant(tenant)
            return tenant
        }
    }

    /// Every tenant.
    public func listTenants() async throws -> [BrokerTenant] { try await store.tenants() }

    /// KEK metadata of a tenant.
    public func listKEKs(tenant: String) async throws -> [KEKInfo] {
        guard let id = TenantID(tenant) else { return [] }
        return try await store.keks(tenant: id).map {
            KEKInfo(resource: "\($0.tenant)/kek/\($0.dataClass)", version: $0.version, state: $0.state, createdAt: $0.createdAt)
        }
    }

    /// Creates version 1 of a tenant × class KEK. Refused when the KEK exists.
    public func createKEK(tenant: String, dataClass: String, by principal: AdminCredential) async -> AdminResult<KEKInfo> {
        await adminAction("create_kek", by: principal, tenant: tenant, target: "\(tenant)/kek/\(dataClass)") {
            let (tenantID, _) = try await existingTenant(tenant)
            guard let dataClass = DataClass(dataClass) else { throw ReleaseDecision.deny(.malformedRequest, "admin.kek.data_class") }
            guard try await store.keks(tenant: tenantID, dataClass: dataClass).isEmpty else {
                throw ReleaseDecision.deny(.alreadyExists, "admin.kek")
            }
            return try await insertVersion(tenantID, dataClass, version: 1)
        }
    }

    /// Adds a new active version; older versions are still released (`decrypt_only`) until retired.
    public func rotate(tenant: String, dataClass: String, by principal: AdminCredential) async -> AdminResult<KEKInfo> {
        await adminAction("rotate", by: principal, tenant: tenant, target: "\(tenant)/kek/\(dataClass)") {
            let (tenantID, _) = try await existingTenant(tenant)
            guard let dataClass = DataClass(dataClass) else { throw ReleaseDecision.deny(.malformedRequest, "admin.kek.data_class") }
            let existing = try await store.keks(tenant: tenantID, dataClass: dataClass)
            guard let last = existing.last else { throw ReleaseDecision.deny(.unknownResource, "admin.kek") }
            return try await insertVersion(tenantID, dataClass, version: last.version + 1)
        }
    }

    /// Stops releasing one version. The newest active version cannot be retired (nothing would wrap new data).
    public func retire(tenant: String, dataClass: String, version: Int, by principal: AdminCredential) async -> AdminResult<KEKInfo> {
        let target = Self.kekVersionTarget(tenant: tenant, dataClass: dataClass, version: version)
        if let refusal = await quorumRefusal("retire", tenant: tenant, target: target, by: principal) { return .failure(refusal) }
        return await performRetire(tenant: tenant, dataClass: dataClass, version: version, by: principal)
    }

    /// `<tenant>/kek/<class>#<version>`: how a retirement is named in records and proposals.
    static func kekVersionTarget(tenant: String, dataClass: String, version: Int) -> String { "\(tenant)/kek/\(dataClass)#\(version)" }

    /// The tenant, class and version a retirement's target names, if it is one.
    static func kekVersion(_ target: String) -> (tenant: String, dataClass: String, version: Int)? {
        let parts = target.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1] == "kek", let hash = parts[2].lastIndex(of: "#"), let version = Int(parts[2][parts[2].index(after: hash)...]),
            version > 0
        else { return nil }
        return (String(parts[0]), String(parts[2][..<hash]), version)
    }

    func performRetire(tenant: String, dataClass: String, version: Int, by principal: AdminCredential) async -> AdminResult<KEKInfo> {
        await adminAction("retire", by: principal, tenant: tenant, target: Self.kekVersionTarget(tenant: tenant, dataClass: dataClass, version: version)) {
            let (tenantID, _) = try await existingTenant(tenant)
            guard let dataClass = DataClass(dataClass) else { throw ReleaseDecision.deny(.malformedRequest, "admin.kek.data_class") }
            let existing = try await store.keks(tenant: tenantID, dataClass: dataClass)
            guard let target = existing.first(where: { $0.version == version }) else {
                throw ReleaseDecision.deny(.unknownResource, "admin.kek.version")
            }
            guard target.state == .active else { throw ReleaseDecision.deny(.conflict, "admin.kek.state") }
            guard existing.last(where: { $0.state == .active })?.version != version else {
                throw ReleaseDecision.deny(.conflict, "admin.kek.retire_current")
            }
            try await store.setState(.retired, tenant: tenantID, dataClass: dataClass, version: version)
            return KEKInfo(resource: "\(tenant)/kek/\(dataClass)", version: version, state: .retired, createdAt: target.createdAt)
        }
    }

    /// Stores an opaque secret (`<tenant>/secret/<name>`); a random 32-byte value when `value` is `nil`.
    /// - Parameter replace: whether an existing secret may be overwritten (`PUT`); `false` refuses with `already_exists` (`POST`).
    public func putSecret(
        tenant: String, name: String, value: Data?, replace: Bool = true, by principal: AdminCredential
    ) async -> AdminResult<String> {
        await adminAction(replace ? "put_secret" : "create_secret", by: principal, tenant: tenant, target: "\(tenant)/secret/\(name)") {
            let (tenantID, _) = try await existingTenant(tenant)
            guard ResourceRef(path: "\(tenant)/secret/\(name)") != nil else { throw ReleaseDecision.deny(.malformedRequest, "admin.secret.name") }
            if !replace, try await store.secret(tenant: tenantID, name: name) != nil { throw ReleaseDecision.deny(.alreadyExists, "admin.secret") }
            guard let bytes = value ?? Optional(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }), !bytes.isEmpty, bytes.count <= 64 * 1024 else {
                throw ReleaseDecision.deny(.malformedRequest, "admin.secret.value")
            }
            let sealed = try protector.seal(bytes, aad: SealingAAD.secret(tenant: tenantID, name: name))
            try await store.putSecret(StoredSecret(tenant: tenantID, name: name, sealedValue: sealed, createdAt: now()))
            return "\(tenant)/secret/\(name)"
        }
    }

    /// Destroys every KEK version and secret of a tenant. Data sealed under them becomes unreadable; other tenants
    /// are unaffected.
    public func shred(tenant: String, by principal: AdminCredential) async -> AdminResult<Int> {
        if let refusal = await quorumRefusal("shred", tenant: tenant, target: tenant, by: principal) { return .failure(refusal) }
        return await performShred(tenant: tenant, by: principal)
    }

    func performShred(tenant: String, by principal: AdminCredential) async -> AdminResult<Int> {
        await adminAction("shred", by: principal, tenant: tenant, target: tenant) {
            let (tenantID, _) = try await existingTenant(tenant)
            let count = try await store.keks(tenant: tenantID).filter { $0.state != .destroyed }.count
            try await store.shred(tenant: tenantID)
            return count
        }
    }

    /// Replaces (or adds) release policies by id.
    public func putPolicies(_ documents: [ReleasePolicyDocument], by principal: AdminCredential) async -> AdminResult<[String]> {
        let target = documents.map(\.id).joined(separator: ",")
        if let refusal = await quorumRefusal("put_policy", target: target, by: principal) { return .failure(refusal) }
        return await performPutPolicies(documents, by: principal)
    }

    func performPutPolicies(_ documents: [ReleasePolicyDocument], by principal: AdminCredential) async -> AdminResult<[String]> {
        await adminAction("put_policy", by: principal, target: documents.map(\.id).joined(separator: ",")) {
            if let denial = await refreshIfChanged() { throw denial }
            let kept = policySet.policies.filter { p in !documents.contains { $0.id == p.id } }
            let next = try PolicySet(kept + documents)
            for document in documents { try await store.putPolicy(id: document.id, json: try Self.canonical(document)) }
            policySet = next
            try await publishGeneration()
            return documents.map(\.id)
        }
    }

    /// Deletes a release policy (a quorum action when the operations policy says so: it loosens release).
    public func deletePolicy(_ id: String, by principal: AdminCredential) async -> AdminResult<String> {
        if let refusal = await quorumRefusal("delete_policy", target: id, by: principal) { return .failure(refusal) }
        return await performDeletePolicy(id, by: principal)
    }

    func performDeletePolicy(_ id: String, by principal: AdminCredential) async -> AdminResult<String> {
        await adminAction("delete_policy", by: principal, target: id) {
            if let denial = await refreshIfChanged() { throw denial }
            guard policySet.policies.contains(where: { $0.id == id }) else { throw ReleaseDecision.deny(.unknownResource, "admin.policy") }
            _ = try await store.deletePolicy(id: id)
            policySet = try PolicySet(policySet.policies.filter { $0.id != id })
            try await publishGeneration()
            return id
        }
    }

    /// Replaces the reference values (takes effect for the next `attest`).
    public func setReferenceValues(_ values: ReferenceValues, by principal: AdminCredential) async -> AdminResult<Int> {
        let target = values.sets.map(\.id).joined(separator: ",")
        if let refusal = await quorumRefusal("set_reference_values", target: target, by: principal) { return .failure(refusal) }
        return await performSetReferenceValues(values, by: principal)
    }

    func performSetReferenceValues(_ values: ReferenceValues, by principal: AdminCredential) async -> AdminResult<Int> {
        await adminAction("set_reference_values", by: principal, target: values.sets.map(\.id).joined(separator: ",")) {
            do { _ = try values.parsedMockSigners() } catch { throw ReleaseDecision.deny(.malformedRequest, "admin.reference_values.mock_signers") }
            let verified: ReferenceImages.Verified
            do { verified = try ReferenceImages.verify(values, baseDirectory: nil) } catch let error as ReferenceImageError {
                throw ReleaseDecision.deny(.imageSignatureRefused, "admin.reference_values.sets[\(error.set)].image.\(error.reason)")
            }
            try await store.putReferenceValues(try Self.canonical(verified.values))
            appraiser = Self.appraiser(verified.values, verifiers: verifiers, images: verified.signers)
            try await publishGeneration()
            return values.sets.count
        }
    }

    /// Creates an admin credential with `roles`; returns its bearer token (shown once; only its hash is stored). A
    /// quorum action when the operations policy says so, once a quorum can be formed at all (more live credentials
    /// than `approvals`: a proposer and its approvers): a new credential is a new approver. Before that the first
    /// credentials are made directly (bootstrap).
    public func createCredential(name: String, roles: [AdminRole], by principal: AdminCredential) async -> AdminResult<String> {
        let live = (try? await store.credentials().count) ?? Int.max
        if live > operationsPolicy.approvals, let refusal = await quorumRefusal("create_credential", target: name, by: principal) {
            return .failure(refusal)
        }
        return await performCreateCredential(name: name, roles: roles, tokenSHA256: nil, by: principal)
    }

    /// Creates the credential; with `tokenSHA256` (a proposal: the proposer made the token and keeps it) that hash is
    /// stored and the hash is returned, else a new token is.
    func performCreateCredential(name: String, roles: [AdminRole], tokenSHA256: String?, by principal: AdminCredential) async -> AdminResult<String> {
        await credentialLock.lock()
        let result = await adminAction("create_credential", by: principal, target: name) {
            guard Self.validCredential(name: name, roles: roles) else { throw ReleaseDecision.deny(.malformedRequest, "admin.credential") }
            guard try await !store.credentials().contains(where: { $0.name == name }) else {
                throw ReleaseDecision.deny(.alreadyExists, "admin.credential")
            }
            let token = "sgk_" + Self.randomToken()
            let hash = tokenSHA256 ?? Hex.encode(SHA256.hash(data: Data(token.utf8)))
            try await store.insertCredential(AdminCredential(name: name, tokenSHA256: hash, roles: roles, createdAt: now()))
            return tokenSHA256 ?? token
        }
        await credentialLock.unlock()
        return result
    }

    /// A credential name of 1–64 characters from `[A-Za-z0-9._-]` with at least one role.
    static func validCredential(name: String, roles: [AdminRole]) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        return !name.isEmpty && name.count <= 64 && name.allSatisfy(allowed.contains) && !roles.isEmpty
    }

    /// Revokes an admin credential. The last credential holding `admin` cannot be revoked.
    public func revokeCredential(name: String, by principal: AdminCredential) async -> AdminResult<String> {
        if let refusal = await quorumRefusal("revoke_credential", target: name, by: principal) { return .failure(refusal) }
        return await performRevoke(name: name, by: principal)
    }

    func performRevoke(name: String, by principal: AdminCredential) async -> AdminResult<String> {
        await credentialLock.lock()
        let result = await adminAction("revoke_credential", by: principal, target: name) {
            let all = try await store.credentials()
            guard let target = all.first(where: { $0.name == name }) else { throw ReleaseDecision.deny(.unknownResource, "admin.credential") }
            if target.roles.contains(.admin), all.filter({ $0.roles.contains(.admin) }).count == 1 {
                throw ReleaseDecision.deny(.conflict, "admin.credential.last_admin")
            }
            _ = try await store.deleteCredential(name: name, keepingAnAdmin: true)
            try await rememberRevoked(target)
            return name
        }
        await credentialLock.unlock()
        return result
    }

    /// Provisions version 1 of a KEK and the tenant if absent (embedded default and demo set-up; not audited as admin).
    public func provision(tenant: TenantID, dataClass: DataClass) async throws {
        if try await !store.tenants().contains(where: { $0.id == tenant.rawValue }) {
            try await store.insertTenant(BrokerTenant(id: tenant.rawValue, createdAt: now()))
        }
        guard try await store.keks(tenant: tenant, dataClass: dataClass).isEmpty else { return }
        _ = try await insertVersion(tenant, dataClass, version: 1)
    }

    /// Provisions a random opaque secret if absent.
    public func provisionSecret(tenant: TenantID, name: String) async throws {
        guard try await store.secret(tenant: tenant, name: name) == nil else { return }
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let sealed = try protector.seal(bytes, aad: SealingAAD.secret(tenant: tenant, name: name))
        try await store.putSecret(StoredSecret(tenant: tenant, name: name, sealedValue: sealed, createdAt: now()))
    }

    private func insertVersion(_ tenant: TenantID, _ dataClass: DataClass, version: Int) async throws -> KEKInfo {
        let raw = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let sealed = try protector.seal(raw, aad: SealingAAD.kek(tenant: tenant, dataClass: dataClass, version: version))
        let created = now()
        try await store.insert(StoredKEK(tenant: tenant, dataClass: dataClass, version: version, sealedKey: sealed, createdAt: created))
        return KEKInfo(resource: "\(tenant)/kek/\(dataClass)", version: version, state: .active, createdAt: created)
    }
}

extension KeyBroker {
    /// Secret names of a tenant (never values).
    public func secretNames(tenant: String) async throws -> [String] {
        guard let id = TenantID(tenant) else { return [] }
        // Model keys share the secrets table under `model:<name>`; they are not secrets a path can name.
        return try await store.secretNames(tenant: id).filter { !$0.hasPrefix("model:") }
    }

    /// Credential names and roles (never tokens or their hashes).
    public func credentialSummaries() async throws -> [[String: String]] {
        try await store.credentials().map { ["name": $0.name, "roles": $0.roles.map(\.rawValue).joined(separator: ",")] }
    }
}
