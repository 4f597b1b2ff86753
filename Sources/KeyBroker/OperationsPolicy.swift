import Foundation

/// The broker's operational access policy (docs/broker.md, "Operational access policy"): which role may call each
/// admin action, which destructive or trust-changing actions need a quorum of distinct admin credentials, and who
/// may open a time-limited break-glass override.
///
/// The default (no file) is the built-in role table with a quorum of 1: every direct admin call works as before.
public struct OperationsPolicy: Sendable, Equatable, Encodable {
    /// Roles that may call each action (a credential with `admin` may call every action).
    public var roles: [String: [AdminRole]]
    /// Approvals (from distinct credentials other than the proposer) a quorum action needs; 1 keeps direct calls.
    public var approvals: Int
    /// How long a proposal may collect approvals, in seconds.
    public var expirySeconds: Int
    /// The actions that need a quorum when `approvals` > 1.
    public var quorumActions: [String]
    /// Credentials that may open a break-glass override.
    public var breakGlassCredentials: [String]
    /// The longest break-glass override, in seconds.
    public var breakGlassMaxSeconds: Int

    enum CodingKeys: String, CodingKey {
        case roles, approvals
        case expirySeconds = "expiry_seconds"
        case quorumActions = "quorum_actions"
        case breakGlassCredentials = "break_glass_credentials"
        case breakGlassMaxSeconds = "break_glass_max_seconds"
    }

    /// The actions a proposal can carry: destructive or trust-changing ones.
    /// Deleting a release policy loosens release (applicable policies are AND-ed), creating a credential mints an
    /// approver, and retiring a KEK version cannot be undone (data still wrapped under it becomes unreadable), so under
    /// a quorum they need one too; so do changing the model digest a model key is released for and the names a
    /// workload class's certificates carry (both change what is trusted).
    public static let proposable = [
        "shred", "set_reference_values", "put_policy", "delete_policy", "rotate_ca", "revoke_credential", "create_credential", "retire",
        "set_model_digest", "enrol_workload",
    ]

    /// The built-in role of every admin action.
    public static let defaultRoles: [String: [AdminRole]] = {
        var table: [String: [AdminRole]] = [:]
        for action in [
            "list_tenants", "list_keks", "list_secrets", "list_policies", "explain_policy", "get_reference_values", "get_workload_ca",
            "list_workloads", "dashboard", "list_proposals", "get_operations_policy", "list_model_keys",
        ] { table[action] = [.reader] }
        for action in [
            "create_tenant", "create_kek", "rotate", "retire", "put_secret", "create_secret", "create_model_key", "wrap_model_key",
            "set_model_digest",
        ] { table[action] = [.keyManager] }
        table["shred"] = [.shredder]
        for action in ["put_policy", "delete_policy", "set_reference_values", "rotate_ca", "enrol_workload"] { table[action] = [.policyManager] }
        for action in ["list_credentials", "create_credential", "revoke_credential"] { table[action] = [.admin] }
        // Any role: the policy's break_glass.credentials is what decides who may open an override.
        table["break_glass"] = AdminRole.allCases
        return table
    }()

    /// The default policy: built-in roles, quorum 1, a day to approve, no break-glass credentials.
    public static let `default` = OperationsPolicy(
        roles: defaultRoles, approvals: 1, expirySeconds: 86_400, quorumActions: proposable, breakGlassCredentials: [], breakGlassMaxSeconds: 3600)

    /// Whether a direct call of `action` is refused and must go through a proposal.
    public func requiresQuorum(_ action: String) -> Bool { approvals > 1 && quorumActions.contains(action) }

    /// The roles that may call `action` (unknown actions: `admin` only).
    public func roles(for action: String) -> [AdminRole] { roles[action] ?? [.admin] }

    /// Parses and validates a policy file (JSON). Every problem is named with its path; nothing partial is returned.
    public static func decode(_ data: Data) throws(KeyBrokerError) -> OperationsPolicy {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw KeyBrokerError(problems: ["the file is not a JSON object"])
        }
        var problems: [String] = []
        var policy = OperationsPolicy.default
        for key in object.keys where !["version", "roles", "quorum", "break_glass"].contains(key) { problems.append("\(key): unknown field") }
        if (object["version"] as? Int) != 1 { problems.append("version: must be 1") }
        if let roles = object["roles"] {
            if let table = roles as? [String: Any] {
                for (action, value) in table.sorted(by: { $0.key < $1.key }) {
                    guard defaultRoles[action] != nil else {
                        problems.append("roles.\(action): unknown action (one of \(defaultRoles.keys.sorted().joined(separator: ", ")))")
                        continue
                    }
                    let names = value as? [String] ?? []
                    let parsed = names.compactMap(AdminRole.init(rawValue:))
                    if names.isEmpty || parsed.count != names.count {
                        problems.append("roles.\(action): a non-empty list of roles (\(AdminRole.allCases.map(\.rawValue).joined(separator: ", ")))")
                    } else {
                        policy.roles[action] = parsed
                    }
                }
            } else {
                problems.append("roles: must map actions to lists of roles")
            }
        }
        if let quorum = object["quorum"] {
            if let quorum = quorum as? [String: Any] {
                for key in quorum.keys where !["approvals", "expiry_seconds", "actions"].contains(key) { problems.append("quorum.\(key): unknown field") }
                if let value = quorum["approvals"] {
                    if let n = value as? Int, (1...9).contains(n) { policy.approvals = n } else { problems.append("quorum.approvals: an integer 1–9") }
                }
                if let value = quorum["expiry_seconds"] {
                    if let n = value as? Int, (60...604_800).contains(n) { policy.expirySeconds = n } else {
                        problems.append("quorum.expiry_seconds: an integer 60–604800 (a week)")
                    }
                }
                if let value = quorum["actions"] {
                    let names = value as? [String] ?? []
                    let unknown = names.filter { !proposable.contains($0) }
                    if names.isEmpty || !unknown.isEmpty {
                        problems.append("quorum.actions: a non-empty list of \(proposable.joined(separator: ", "))")
                    } else {
                        policy.quorumActions = names
                    }
                }
            } else {
                problems.append("quorum: must be an object")
            }
        }
        if let glass = object["break_glass"] {
            if let glass = glass as? [String: Any] {
                for key in glass.keys where !["credentials", "max_seconds"].contains(key) { problems.append("break_glass.\(key): unknown field") }
                if let value = glass["credentials"] {
                    if let names = value as? [String], names.allSatisfy({ !$0.isEmpty }) { policy.breakGlassCredentials = names } else {
                        problems.append("break_glass.credentials: a list of credential names")
                    }
                }
                if let value = glass["max_seconds"] {
                    if let n = value as? Int, (60...86_400).contains(n) { policy.breakGlassMaxSeconds = n } else {
                        problems.append("break_glass.max_seconds: an integer 60–86400 (a day)")
                    }
                }
            } else {
                problems.append("break_glass: must be an object")
            }
        }
        guard problems.isEmpty else { throw KeyBrokerError(problems: problems) }
        return policy
    }

    /// How the policy treats `action` for a credential holding `credentialRoles`: a value for people and scripts.
    public func explain(action: String, credentialRoles: [AdminRole]?) -> OperationsExplanation {
        let allowed = roles(for: action)
        let may = credentialRoles.map { held in held.contains(.admin) || held.contains { allowed.contains($0) } }
        var lines = ["\(action): roles \(allowed.map(\.rawValue).joined(separator: ", ")) (admin may call every action)"]
        if let held = credentialRoles {
            lines.append(may == true ? "a credential with \(held.map(\.rawValue).joined(separator: ", ")) may call it" : "a credential with \(held.map(\.rawValue).joined(separator: ", ")) is refused: role_missing")
        }
        let quorum = requiresQuorum(action)
        if quorum {
            lines.append(
                "direct calls are refused (quorum_required): propose it with `sealgate keys propose`, then \(approvals) distinct credentials other than the proposer approve it within \(expirySeconds) s")
            if !breakGlassCredentials.isEmpty {
                lines.append("break-glass: \(breakGlassCredentials.joined(separator: ", ")) may open an override of at most \(breakGlassMaxSeconds) s")
            }
        } else {
            lines.append(
                OperationsPolicy.proposable.contains(action) ? "direct calls execute (quorum \(approvals)); a proposal needs \(approvals) approval(s)" : "direct calls execute (no quorum for this action)")
        }
        return OperationsExplanation(
            action: action, roles: allowed.map(\.rawValue), allowed: may, quorum: quorum ? approvals : 0, expirySeconds: quorum ? expirySeconds : nil,
            explanation: lines)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(roles.mapValues { $0.map(\.rawValue) }, forKey: .roles)
        try c.encode(approvals, forKey: .approvals)
        try c.encode(expirySeconds, forKey: .expirySeconds)
        try c.encode(quorumActions, forKey: .quorumActions)
        try c.encode(breakGlassCredentials, forKey: .breakGlassCredentials)
        try c.encode(breakGlassMaxSeconds, forKey: .breakGlassMaxSeconds)
    }
}

/// What ``OperationsPolicy/explain(action:credentialRoles:)`` says about one action.
public struct OperationsExplanation: Sendable, Encodable, Equatable {
    public var action: String
    public var roles: [String]
    /// Whether the given credential roles may call it; `nil` when none were given.
    public var allowed: Bool?
    /// Approvals needed (0: direct calls execute).
    public var quorum: Int
    public var expirySeconds: Int?
    public var explanation: [String]

    enum CodingKeys: String, CodingKey {
        case action, roles, allowed, quorum, explanation
        case expirySeconds = "expiry_seconds"
    }
}
