/// The release policies a broker enforces. Every policy that applies to a request must pass.
public struct PolicySet: Sendable, Equatable {
    /// The policies, in evaluation order.
    public var policies: [ReleasePolicyDocument]

    /// Creates a set.
    ///
    /// - Throws: ``ReleasePolicyError`` when two policies share an id.
    public init(_ policies: [ReleasePolicyDocument]) throws {
        var seen: Set<String> = []
        var problems: [String] = []
        for (i, policy) in policies.enumerated() where !seen.insert(policy.id).inserted {
            problems.append("$[\(i)].id: duplicate policy id '\(policy.id)'")
        }
        guard problems.isEmpty else { throw ReleasePolicyError(problems: problems) }
        self.policies = policies
    }

    /// The policies that apply to `resource`, in order.
    public func applicable(to resource: ResourceRef) -> [ReleasePolicyDocument] {
        policies.filter { $0.applies(to: resource) }
    }

    /// Every applicable policy must pass; when none applies, `fallback` decides (the broker passes its default policy).
    ///
    /// Every applicable policy is evaluated, so the trace shows all of them; the decision names the first failing
    /// policy and the node in it that decided, or, when all pass, the last one. A policy in which a condition
    /// compares a field with an operand of the wrong type fails (reason `policy_type_mismatch`) whatever
    /// combinators surround that condition, so a mistake in a policy never grants.
    public func evaluate(_ request: ReleaseRequest, fallback: ReleasePolicyDocument) -> PolicyDecision {
        let applicable = applicable(to: request.resource)
        let evaluator = PolicyEvaluator(request: request)
        let chosen = applicable.isEmpty ? [fallback] : applicable
        var trace: [TraceStep] = []
        var denial: (policy: String, node: EvaluatedNode)?
        var lastPassing: (policy: String, path: String)?
        for policy in chosen {
            let root = evaluator.evaluate(policy)
            let decider: EvaluatedNode? = root.firstMismatch ?? (root.passed ? nil : root.decider)
            let kind = applicable.isEmpty ? TraceStep.fallbackKind : TraceStep.policyKind
            trace.append(TraceStep(path: policy.id, kind: kind, depth: 0, outcome: decider == nil ? .passed : .failed, reason: decider?.reason))
            root.appendTrace(to: &trace, depth: 1)
            if let decider {
                if denial == nil { denial = (policy.id, decider) }
            } else {
                lastPassing = (policy.id, root.path)
            }
        }
        if let denial {
            return PolicyDecision(allowed: false, policyID: denial.policy, rule: denial.node.path, reason: denial.node.reason, trace: trace)
        }
        let granted = lastPassing ?? (fallback.id, fallback.id)
        return PolicyDecision(allowed: true, policyID: granted.policy, rule: granted.path, reason: PolicyDecision.granted, trace: trace)
    }
}
