/// The outcome of evaluating release policies for one request: allowed or not, what decided, why, and a trace.
public struct PolicyDecision: Sendable, Equatable, Codable {
    /// Whether the resource may be released.
    public var allowed: Bool
    /// The policy that decided: the first failing one, or the last passing one (the fallback's id when none applied).
    public var policyID: String
    /// The path or name of the node that decided, e.g. `acme-restricted-hardware/allOf[1]/not` or
    /// `acme-restricted-hardware/hardware-tee`; for a grant, the deciding policy's root node.
    public var rule: String
    /// A stable code: `granted` when allowed; else the deciding node's `reason`, else a default from its field
    /// (see ``PolicyField/defaultReason``), else `policy_denied`; `policy_type_mismatch` when the policy compared
    /// a field with an operand of the wrong type.
    public var reason: String
    /// Every node evaluated, in pre-order; one `policy` (or `fallback`) step opens each policy.
    public var trace: [TraceStep]

    /// The reason code of every grant.
    public static let granted = "granted"

    enum CodingKeys: String, CodingKey {
        case allowed, rule, reason, trace
        case policyID = "policy_id"
    }

    /// Creates a decision.
    public init(allowed: Bool, policyID: String, rule: String, reason: String, trace: [TraceStep]) {
        self.allowed = allowed
        self.policyID = policyID
        self.rule = rule
        self.reason = reason
        self.trace = trace
    }

    /// A multi-line, indented tree of the trace with ✓/✗ per node, then the decision.
    public var explanation: String {
        var lines: [String] = []
        for step in trace {
            let indent = String(repeating: "  ", count: step.depth)
            let mark = step.outcome == .passed ? "✓" : "✗"
            switch step.kind {
            case TraceStep.policyKind, TraceStep.fallbackKind:
                let what = step.kind == TraceStep.fallbackKind ? "no policy applies; fallback policy" : "policy"
                lines.append("\(indent)\(mark) \(what) \(step.path): \(step.outcome == .passed ? "passed" : "failed")")
            case "condition":
                var line = "\(indent)\(mark) \(step.name.map { "\($0): " } ?? "")\(step.field ?? "?") \(step.op ?? "?") "
                line += step.expected.map(Self.short) ?? "?"
                if step.op != "exists" { line += " — actual " + (step.actual.map(Self.short) ?? "(missing)") }
                if step.outcome == .failed, let reason = step.reason { line += "  [\(reason)]" }
                lines.append(line)
            default:
                var line = "\(indent)\(mark) \(step.name.map { "\($0): " } ?? "")\(step.kind)"
                if step.outcome == .failed, let reason = step.reason { line += "  [\(reason)]" }
                lines.append(line)
            }
        }
        lines.append(allowed ? "decision: ALLOWED by \(rule) (\(reason))" : "decision: DENIED by \(rule) (\(reason))")
        return lines.joined(separator: "\n")
    }

    static func short(_ value: PolicyValue) -> String {
        let text = value.description
        return text.count > 44 ? String(text.prefix(40)) + "…" + (text.hasSuffix("\"") ? "\"" : "") : text
    }
}

/// One evaluated node (or one policy) in a decision's trace. Actual values are claims from the attestation
/// result or parts of the request, never secrets.
public struct TraceStep: Sendable, Equatable, Codable {
    /// Whether the node passed.
    public enum Outcome: String, Sendable, Codable {
        case passed, failed
    }

    /// The kind of the step that opens a policy.
    public static let policyKind = "policy"
    /// The kind of the step that opens the fallback policy.
    public static let fallbackKind = "fallback"

    /// The node's rule path (see ``PolicyDecision/rule``), or the policy id for a policy step.
    public var path: String
    /// `policy`, `fallback`, `allOf`, `anyOf`, `not` or `condition`.
    public var kind: String
    /// Nesting depth: 0 for a policy, 1 for its rule's root node.
    public var depth: Int
    /// Whether the node passed.
    public var outcome: Outcome
    /// The node's name, if it has one.
    public var name: String?
    /// Conditions: the field tested.
    public var field: String?
    /// Conditions: the operator (`equals`, `in`, `>=`, `<=`, `exists`).
    public var op: String?
    /// Conditions: the operand.
    public var expected: PolicyValue?
    /// Conditions: the field's value; absent when the field was missing.
    public var actual: PolicyValue?
    /// Failed nodes: the reason code this node's failure reports (for an `allOf` without its own reason, that of
    /// its first failing child; `policy_type_mismatch` for a condition that compared values of different types).
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case path, kind, depth, outcome, name, field, expected, actual, reason
        case op = "operator"
    }

    /// Creates a step.
    public init(
        path: String, kind: String, depth: Int, outcome: Outcome, name: String? = nil, field: String? = nil,
        op: String? = nil, expected: PolicyValue? = nil, actual: PolicyValue? = nil, reason: String? = nil
    ) {
        self.path = path
        self.kind = kind
        self.depth = depth
        self.outcome = outcome
        self.name = name
        self.field = field
        self.op = op
        self.expected = expected
        self.actual = actual
        self.reason = reason
    }
}
