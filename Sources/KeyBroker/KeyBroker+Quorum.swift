import Attestation
import Crypto
import Foundation
import ReleasePolicy
import SealgateCore

/// A destructive or trust-changing admin action waiting for approvals. Its digest binds everything it would do.
public struct Proposal: Codable, Sendable, Equatable {
    public var id: String
    /// One of ``OperationsPolicy/proposable``.
    public var action: String
    /// The tenant (`shred`), credential name (`revoke_credential`), or `-`.
    public var target: String
    /// The action's input as JSON text (reference values, release policies), or empty.
    public var payload: String
    public var proposer: String
    /// RFC 3339.
    public var createdAt: String
    public var expiresAt: String
    /// Hex SHA-256 over the canonical JSON of id, action, target, payload, proposer, created_at and expires_at.
    public var digest: String
    public var approvals: [String]
    /// Approvals needed when proposed.
    public var required: Int
    /// `pending`, `executed`, `failed` or `expired`.
    public var state: String
    /// The reason code of a failed execution.
    public var outcome: String?

    enum CodingKeys: String, CodingKey {
        case id, action, target, payload, proposer, digest, approvals, required, state, outcome
        case createdAt = "created_at"
        case expiresAt = "expires_at"
    }

    /// The digest of the content as it is now.
    public var contentDigest: String {
        let fields = [id, action, target, payload, proposer, createdAt, expiresAt]
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Hex.encode(SHA256.hash(data: data))
    }
}

/// A named, time-limited override of the quorum for one credential.
public struct BreakGlass: Codable, Sendable, Equatable {
    public var credential: String
    /// The incident name the override was opened for.
    public var name: String
    public var expiresAt: String

    enum CodingKeys: String, CodingKey {
        case credential, name
        case expiresAt = "expires_at"
    }
}

extension KeyBroker {
    static let proposalsSetting = "admin.proposals"
    static let breakGlassSetting = "admin.break_glass"
    static let revokedSetting = "admin.revoked_credentials"
    static let keptClosedProposals = 100

    /// Reads an RFC 3339 time written by ``AuditRecord/timestamp(_:)``.
    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// Installs the operational access policy (from `--operations-policy`, or the default).
    public func setOperationsPolicy(_ policy: OperationsPolicy) { operationsPolicy = policy }

    /// The operational access policy in force.
    public var currentOperationsPolicy: OperationsPolicy { operationsPolicy }

    /// Whether an authenticated credential may call `action` under the operations policy; a refusal is recorded.
    /// A revoked credential is refused `credential_revoked`.
    public func authorize(_ credential: AdminCredential, action: String) async -> AdminResult<AdminCredential> {
        if credential.revoked {
            await emit(.admin, .deny(.credentialRevoked, "admin.credential.revoked"), tee: "-", resourceType: action, principal: credential.name)
            return .failure(.deny(.credentialRevoked, "admin.credential.revoked"))
        }
        let allowed = operationsPolicy.roles(for: action)
        guard credential.roles.contains(.admin) || credential.roles.contains(where: allowed.contains) else {
            let rule = "admin.role.\(allowed.first?.rawValue ?? "admin")"
            await emit(.admin, .deny(.roleMissing, rule), tee: "-", resourceType: "admin_auth", principal: credential.name)
            return .failure(.deny(.roleMissing, rule))
        }
        return .success(credential)
    }

    /// `nil` when `principal` may call `action` directly; else the recorded `quorum_required` refusal. Start-up
    /// configuration (a principal without a token) and an open break-glass override pass, the latter recorded.
    func quorumRefusal(_ action: String, tenant: String = "-", target: String?, by principal: AdminCredential) async -> ReleaseDecision? {
        guard operationsPolicy.requiresQuorum(action), !principal.tokenSHA256.isEmpty else { return nil }
        let current = now()
        // An override counts only for a credential the operations policy allows one, and no longer than it allows.
        let latest = current.addingTimeInterval(TimeInterval(operationsPolicy.breakGlassMaxSeconds))
        if operationsPolicy.breakGlassCredentials.contains(principal.name), let glass = ((try? await breakGlasses()) ?? []).first(where: {
            let expires = Self.parseTime($0.expiresAt) ?? .distantPast
            return $0.credential == principal.name && expires > current && expires <= latest
        }) {
            await emit(
                .admin, ReleaseDecision(allowed: true, reason: .granted, rule: "admin.break_glass.\(glass.name)", result: nil), tee: "-", tenant: tenant,
                resource: target, resourceType: "break_glass_use", principal: principal.name)
            return nil
        }
        let denial = ReleaseDecision.deny(.quorumRequired, "admin.quorum.\(action)")
        await emit(.admin, denial, tee: "-", tenant: tenant, resource: target, resourceType: action, principal: principal.name)
        return denial
    }

    /// Every proposal (pending first, then the latest closed ones); pending proposals past their expiry are closed
    /// as `expired` (each an audit record and a security event).
    public func proposals() async throws -> [Proposal] {
        await proposalLock.lock()
        do {
            var record = try await loadProposals()
            if try await expire(&record.all) { try await saveProposals(&record) }
            await proposalLock.unlock()
            return record.all.filter { $0.state == "pending" } + record.all.filter { $0.state != "pending" }.reversed()
        } catch {
            await proposalLock.unlock()
            throw error
        }
    }

    /// Proposes `action` (the caller holds its role). With a quorum of 1 a single approval executes it.
    public func propose(action: String, target: String, payload: Data?, by principal: AdminCredential) async -> AdminResult<Proposal> {
        await proposalLock.lock()
        let result: AdminResult<Proposal> = await adminAction("propose", by: principal, target: action + ":" + target) {
            guard OperationsPolicy.proposable.contains(action) else { throw ReleaseDecision.deny(.malformedRequest, "admin.proposal.action") }
            let text = payload.map { String(decoding: $0, as: UTF8.self) } ?? ""
            try await validateProposal(action: action, target: target, payload: payload)
            var record = try await loadProposals()
            _ = try await expire(&record.all)
            guard record.all.filter({ $0.state == "pending" }).count < 100 else { throw ReleaseDecision.deny(.conflict, "admin.proposal.too_many_pending") }
            let created = now()
            var proposal = Proposal(
                id: Self.proposalID(), action: action, target: target, payload: text, proposer: principal.name,
                createdAt: AuditRecord.timestamp(created), expiresAt: AuditRecord.timestamp(created.addingTimeInterval(TimeInterval(operationsPolicy.expirySeconds))),
                digest: "", approvals: [], required: operationsPolicy.approvals, state: "pending", outcome: nil)
            proposal.digest = proposal.contentDigest
            record.all.append(proposal)
            try await saveProposals(&record)
            return proposal
        }
        await proposalLock.unlock()
        return result
    }

    /// A new proposal id: 18 lowercase hex digits (72 random bits). Hex, not base64url, so an id never begins with
    /// `-` and reads as an option to `sealgate keys approve` (one id in 64 did).
    static func proposalID() -> String { Hex.encode(SymmetricKey(size: SymmetricKeySize(bitCount: 72)).withUnsafeBytes { Data($0) }) }

    /// Approves proposal `id` as it was shown (`digest`). Refused: the proposer itself, a second approval by the same
    /// credential, after expiry, or a digest that is not the proposal's current content. The approval that completes
    /// the quorum executes the action (its outcome recorded as `execute_proposal`).
    public func approve(id: String, digest: String, by principal: AdminCredential) async -> AdminResult<Proposal> {
        await proposalLock.lock()
        var executing: Proposal?
        var result: AdminResult<Proposal> = await adminAction("approve", by: principal, target: id) {
            var record = try await loadProposals()
            if try await expire(&record.all) { try await saveProposals(&record) }
            guard let index = record.all.firstIndex(where: { $0.id == id }) else { throw ReleaseDecision.deny(.unknownResource, "admin.proposal") }
            var proposal = record.all[index]
            if proposal.state == "expired" { throw ReleaseDecision.deny(.proposalExpired, "admin.proposal.expiry") }
            guard proposal.state == "pending" else { throw ReleaseDecision.deny(.proposalClosed, "admin.proposal.state") }
            guard proposal.contentDigest == proposal.digest, digest.lowercased() == proposal.digest else {
                throw ReleaseDecision.deny(.proposalDigestMismatch, "admin.proposal.digest")
            }
            guard principal.name != proposal.proposer else { throw ReleaseDecision.deny(.proposalSelfApproval, "admin.proposal.proposer") }
            guard !proposal.approvals.contains(principal.name) else { throw ReleaseDecision.deny(.proposalAlreadyApproved, "admin.proposal.approvals") }
            // A credential minted after the proposal (by its proposer, say) is no independent approver of it.
            // (The proposal's time is kept to the millisecond: a credential made in that millisecond counts as before.)
            let proposed = (Self.parseTime(proposal.createdAt) ?? .distantPast).addingTimeInterval(0.001)
            guard principal.tokenSHA256.isEmpty || principal.createdAt < proposed else {
                throw ReleaseDecision.deny(.proposalApproverTooNew, "admin.proposal.approver_created")
            }
            proposal.approvals.append(principal.name)
            // Only approvals of credentials that still exist, and existed when it was proposed, count.
            let live = Set(try await store.credentials().filter { $0.createdAt < proposed }.map(\.name))
            if proposal.approvals.filter(live.contains).count >= proposal.required {
                proposal.state = "executing"
                executing = proposal
            }
            record.all[index] = proposal
            // Compare-and-swap: of two brokers completing the same quorum at once, one moves it to `executing`.
            try await saveProposals(&record)
            return proposal
        }
        if case .success(var proposal) = result, executing != nil {
            let outcome = await execute(proposal)
            proposal.state = outcome == nil ? "executed" : "failed"
            proposal.outcome = outcome?.reason.rawValue
            // The outcome is recorded whatever other changes the record saw meanwhile (a few tries).
            for _ in 0..<5 {
                guard var record = try? await loadProposals(), let index = record.all.firstIndex(where: { $0.id == proposal.id }) else { break }
                record.all[index] = proposal
                if (try? await saveProposals(&record)) != nil { break }
            }
            result = .success(proposal)
        }
        await proposalLock.unlock()
        return result
    }

    /// Opens a break-glass override for the calling credential: for `seconds` its direct quorum actions execute,
    /// each recorded as `break_glass_use` under the override's `name`.
    public func openBreakGlass(name: String, seconds: Int, by principal: AdminCredential) async -> AdminResult<BreakGlass> {
        await adminAction("break_glass", by: principal, target: name) {
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-")
            guard !name.isEmpty, name.count <= 64, name.allSatisfy(allowed.contains) else { throw ReleaseDecision.deny(.malformedRequest, "admin.break_glass.name") }
            guard operationsPolicy.breakGlassCredentials.contains(principal.name) else {
                throw ReleaseDecision.deny(.breakGlassNotPermitted, "admin.break_glass.credential")
            }
            guard (1...operationsPolicy.breakGlassMaxSeconds).contains(seconds) else {
                throw ReleaseDecision.deny(.breakGlassNotPermitted, "admin.break_glass.duration")
            }
            let current = now()
            let glass = BreakGlass(credential: principal.name, name: name, expiresAt: AuditRecord.timestamp(current.addingTimeInterval(TimeInterval(seconds))))
            // Compare-and-swap: another broker's override opened meanwhile is kept.
            try await store.update(Self.breakGlassSetting) { plain in
                let all = try plain.map { try JSONDecoder().decode([BreakGlass].self, from: $0) } ?? []
                let open = all.filter { (Self.parseTime($0.expiresAt) ?? .distantPast) > current && $0.credential != principal.name }
                return try Self.canonical(open + [glass])
            }
            return glass
        }
    }

    func breakGlasses() async throws -> [BreakGlass] {
        guard let data = try await store.setting(Self.breakGlassSetting) else { return [] }
        return try JSONDecoder().decode([BreakGlass].self, from: data)
    }

    /// Remembers a revoked credential's token hash, so presenting it again is refused `credential_revoked` and audited.
    func rememberRevoked(_ credential: AdminCredential) async throws {
        try await store.update(Self.revokedSetting) { plain in
            var revoked = try plain.map { try JSONDecoder().decode([String: String].self, from: $0) } ?? [:]
            revoked[credential.tokenSHA256] = credential.name
            return try Self.canonical(revoked)
        }
    }

    func revokedCredentials() async throws -> [String: String] {
        guard let data = try await store.setting(Self.revokedSetting) else { return [:] }
        return try JSONDecoder().decode([String: String].self, from: data)
    }

    /// The proposals as read, with the stored bytes they were read from (what a save must still find there).
    struct ProposalsRecord {
        var all: [Proposal]
        var stored: Data?
    }

    private func loadProposals() async throws -> ProposalsRecord {
        guard let data = try await store.setting(Self.proposalsSetting) else { return ProposalsRecord(all: [], stored: nil) }
        return ProposalsRecord(all: try JSONDecoder().decode([Proposal].self, from: data), stored: data)
    }

    /// Writes the proposals if the store still holds what `record` was read from (another broker on the database
    /// may have changed them since: the in-process lock does not reach it); else `409 conflict`
    /// (`admin.proposal.concurrent`), and the caller tries again.
    private func saveProposals(_ record: inout ProposalsRecord) async throws {
        let closed = record.all.filter { $0.state != "pending" && $0.state != "executing" }
        let kept = record.all.filter { $0.state == "pending" || $0.state == "executing" } + closed.suffix(Self.keptClosedProposals)
        let data = try Self.canonical(kept)
        guard try await store.replaceSetting(Self.proposalsSetting, data, ifCurrent: record.stored) else {
            throw ReleaseDecision.deny(.conflict, "admin.proposal.concurrent")
        }
        record.stored = data
    }

    /// Closes pending proposals past their expiry, recording each; returns whether any closed.
    private func expire(_ all: inout [Proposal]) async throws -> Bool {
        let current = now()
        var changed = false
        for index in all.indices where all[index].state == "pending" && (Self.parseTime(all[index].expiresAt) ?? .distantPast) <= current {
            all[index].state = "expired"
            changed = true
            await emit(
                .admin, .deny(.proposalExpired, "admin.proposal.expiry"), tee: "-", resource: all[index].id, resourceType: "expire_proposal",
                principal: all[index].proposer)
        }
        return changed
    }

    /// Checks a proposal's input before it is stored, so approvers never approve something that cannot run.
    private func validateProposal(action: String, target: String, payload: Data?) async throws {
        switch action {
        case "shred": _ = try await existingTenant(target)
        case "revoke_credential":
            guard try await store.credentials().contains(where: { $0.name == target }) else { throw ReleaseDecision.deny(.unknownResource, "admin.credential") }
        case "set_reference_values":
            guard let payload, let values = try? JSONDecoder().decode(ReferenceValues.self, from: payload), (try? values.parsedMockSigners()) != nil else {
                throw ReleaseDecision.deny(.malformedRequest, "admin.proposal.payload")
            }
        case "put_policy":
            guard let payload, (try? ReleasePolicyLoader.decode(payload)) != nil else { throw ReleaseDecision.deny(.malformedRequest, "admin.proposal.payload") }
        case "delete_policy":
            guard policySet.policies.contains(where: { $0.id == target }) else { throw ReleaseDecision.deny(.unknownResource, "admin.policy") }
        case "set_model_digest":
            guard let resource = ModelKeyResource(target), let digest = payload.flatMap(Self.digestPayload), (try? Self.modelDigest(digest)) != nil
            else { throw ReleaseDecision.deny(.malformedRequest, "admin.proposal.payload") }
            _ = try await existingTenant(resource.scope.rawValue)
            guard try await modelKeyRecord(resource) != nil else { throw ReleaseDecision.deny(.unknownResource, "admin.model") }
        case "enrol_workload":
            guard let enrolment = payload.flatMap({ try? JSONDecoder().decode(WorkloadEnrolment.self, from: $0) }),
                enrolment.workload.description == target, (try? enrolment.alternativeNames()) != nil
            else { throw ReleaseDecision.deny(.malformedRequest, "admin.proposal.payload") }
        case "retire":
            guard let kek = Self.kekVersion(target), let dataClass = DataClass(kek.dataClass) else {
                throw ReleaseDecision.deny(.malformedRequest, "admin.proposal.target")
            }
            let (tenantID, _) = try await existingTenant(kek.tenant)
            let versions = try await store.keks(tenant: tenantID, dataClass: dataClass)
            guard let version = versions.first(where: { $0.version == kek.version }), version.state == .active else {
                throw ReleaseDecision.deny(.unknownResource, "admin.kek.version")
            }
            guard versions.last(where: { $0.state == .active })?.version != kek.version else { throw ReleaseDecision.deny(.conflict, "admin.kek.retire_current") }
        case "create_credential":
            guard let request = payload.flatMap(Self.credentialRequest), Self.validCredential(name: target, roles: request.roles) else {
                throw ReleaseDecision.deny(.malformedRequest, "admin.proposal.payload")
            }
            guard try await !store.credentials().contains(where: { $0.name == target }) else { throw ReleaseDecision.deny(.alreadyExists, "admin.credential") }
        default: break
        }
    }

    /// A `set_model_digest` proposal's payload: `{"digest": "sha256:<64 hex>"}`.
    static func digestPayload(_ payload: Data) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: payload)) as? [String: Any], Set(object.keys) == ["digest"] else { return nil }
        return object["digest"] as? String
    }

    /// A `create_credential` proposal's payload: `{"roles": [...], "token_sha256": "<64 hex>"}` — the proposer made
    /// the token and keeps it; the broker only ever sees its hash.
    static func credentialRequest(_ payload: Data) -> (roles: [AdminRole], tokenSHA256: String)? {
        guard let object = (try? JSONSerialization.jsonObject(with: payload)) as? [String: Any], Set(object.keys) == ["roles", "token_sha256"],
            let names = object["roles"] as? [String], let hash = object["token_sha256"] as? String,
            hash.count == 64, hash.allSatisfy({ "0123456789abcdef".contains($0) })
        else { return nil }
        let roles = names.compactMap(AdminRole.init(rawValue:))
        guard roles.count == names.count else { return nil }
        return (roles, hash)
    }

    /// Runs an approved proposal under the principal `quorum:<id>`; `nil` on success, else the refusal.
    private func execute(_ proposal: Proposal) async -> ReleaseDecision? {
        let principal = AdminCredential(name: "quorum:" + proposal.id, tokenSHA256: "", roles: [.admin], createdAt: now())
        let payload = Data(proposal.payload.utf8)
        // The action's input, parsed again from the approved payload (or target): unparsable is `malformed_request`.
        func run<Input: Sendable, Output: Sendable>(
            _ input: Input?, _ rule: String = "admin.proposal.payload", _ body: (Input) async -> AdminResult<Output>
        ) async -> Result<Void, ReleaseDecision> {
            guard let input else { return .failure(.deny(.malformedRequest, rule)) }
            return await body(input).map { _ in () }
        }
        let outcome: Result<Void, ReleaseDecision>
        switch proposal.action {
        case "shred": outcome = await run(proposal.target) { await performShred(tenant: $0, by: principal) }
        case "revoke_credential": outcome = await run(proposal.target) { await performRevoke(name: $0, by: principal) }
        case "rotate_ca": outcome = await run(()) { await performRotateCA(by: principal) }
        case "delete_policy": outcome = await run(proposal.target) { await performDeletePolicy($0, by: principal) }
        case "set_reference_values":
            outcome = await run(try? JSONDecoder().decode(ReferenceValues.self, from: payload)) { await performSetReferenceValues($0, by: principal) }
        case "put_policy": outcome = await run(try? ReleasePolicyLoader.decode(payload)) { await performPutPolicies($0, by: principal) }
        case "set_model_digest":
            outcome = await run(Self.digestPayload(payload)) { await performSetModelDigest(resource: proposal.target, digest: $0, by: principal) }
        case "enrol_workload":
            outcome = await run(try? JSONDecoder().decode(WorkloadEnrolment.self, from: payload)) { await performEnrol($0, by: principal) }
        case "retire":
            outcome = await run(Self.kekVersion(proposal.target), "admin.proposal.target") {
                await performRetire(tenant: $0.tenant, dataClass: $0.dataClass, version: $0.version, by: principal)
            }
        case "create_credential":
            outcome = await run(Self.credentialRequest(payload)) {
                await performCreateCredential(name: proposal.target, roles: $0.roles, tokenSHA256: $0.tokenSHA256, by: principal)
            }
        default: outcome = .failure(.deny(.malformedRequest, "admin.proposal.action"))
        }
        let decision: ReleaseDecision
        switch outcome {
        case .success: decision = ReleaseDecision(allowed: true, reason: .granted, rule: "admin.quorum.\(proposal.action)", result: nil)
        case .failure(let denial): decision = denial
        }
        await emit(.admin, decision, tee: "-", resource: proposal.id, resourceType: "execute_proposal", principal: principal.name)
        if case .failure(let denial) = outcome { return denial }
        return nil
    }
}
