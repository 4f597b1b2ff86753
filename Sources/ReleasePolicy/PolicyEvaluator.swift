import Attestation
import SealgateCore

/// A node after evaluation, with its children; the decision and the trace are read from this tree.
struct EvaluatedNode {
    let node: PolicyNode
    let path: String
    let passed: Bool
    /// A condition that compared a field with an operand of another type.
    let mismatch: Bool
    let actual: PolicyValue?
    let children: [EvaluatedNode]

    /// The reason this node reports when it decides a denial.
    var reason: String {
        if let reason = node.label.reason { return reason }
        if mismatch { return PolicyEvaluator.typeMismatch }
        return PolicyEvaluator.defaultReason(node)
    }

    /// Whether a type mismatch happened anywhere in this subtree.
    var containsMismatch: Bool { mismatch || children.contains { $0.containsMismatch } }

    /// The first condition (pre-order) with a type mismatch.
    var firstMismatch: EvaluatedNode? {
        if mismatch { return self }
        for child in children { if let found = child.firstMismatch { return found } }
        return nil
    }

    /// The node that decided this node's failure: a node with its own `reason`, an `anyOf`, a `not` or a
    /// condition decides itself; an `allOf` defers to its first failing child.
    var decider: EvaluatedNode {
        guard !passed, node.label.reason == nil, case .allOf = node, let failing = children.first(where: { !$0.passed })
        else { return self }
        return failing.decider
    }

    func appendTrace(to trace: inout [TraceStep], depth: Int) {
        var step = TraceStep(
            path: path, kind: node.kind, depth: depth, outcome: passed ? .passed : .failed, name: node.label.name,
            reason: passed ? nil : decider.reason)
        if case .condition(let condition, _) = node {
            step.field = condition.field.rawValue
            step.op = condition.test.operatorName
            step.expected = condition.test.operand
            step.actual = actual
        }
        trace.append(step)
        for child in children { child.appendTrace(to: &trace, depth: depth + 1) }
    }
}

/// Evaluates one policy's rule over a request. Pure; never throws.
struct PolicyEvaluator {
    static let typeMismatch = "policy_type_mismatch"
    static let denied = "policy_denied"

    let request: ReleaseRequest

    /// Evaluates `policy`'s rule; paths start with the policy id.
    func evaluate(_ policy: ReleasePolicyDocument) -> EvaluatedNode {
        evaluate(policy.rule, policyID: policy.id, prefix: policy.id + "/")
    }

    private func evaluate(_ node: PolicyNode, policyID: String, prefix: String) -> EvaluatedNode {
        let named = node.label.name.map { "\(policyID)/\($0)" }
        switch node {
        case .allOf(let items, _), .anyOf(let items, _):
            let path = named ?? prefix + node.kind
            let base = named.map { "\($0)/\(node.kind)" } ?? path
            let children = items.enumerated().map { i, child in evaluate(child, policyID: policyID, prefix: "\(base)[\(i)]/") }
            let passed: Bool
            if case .allOf = node { passed = children.allSatisfy(\.passed) } else { passed = children.contains(where: \.passed) }
            return EvaluatedNode(node: node, path: path, passed: passed, mismatch: false, actual: nil, children: children)
        case .not(let item, _):
            let path = named ?? prefix + "not"
            let base = named.map { "\($0)/not" } ?? path
            let child = evaluate(item, policyID: policyID, prefix: base + "/")
            return EvaluatedNode(node: node, path: path, passed: !child.passed, mismatch: false, actual: nil, children: [child])
        case .condition(let condition, _):
            let path = named ?? prefix + condition.field.rawValue
            let actual = value(of: condition.field)
            let outcome = Self.test(condition.test, actual: actual)
            return EvaluatedNode(
                node: node, path: path, passed: outcome == .pass, mismatch: outcome == .mismatch, actual: actual, children: [])
        }
    }

    enum TestOutcome { case pass, fail, mismatch }

    /// Applies a test to a field's value (`nil`: the field is missing).
    static func test(_ test: PolicyTest, actual: PolicyValue?) -> TestOutcome {
        if case .exists(let expected) = test { return (actual != nil) == expected ? .pass : .fail }
        guard let actual else { return .fail }
        func outcome(_ b: Bool) -> TestOutcome { b ? .pass : .fail }
        switch (test, actual) {
        case (.equals(let operand), .list(let items)):
            guard case .string = operand else { return .mismatch }
            return outcome(items.contains(operand))
        case (.equals(let operand), _):
            guard operand.typeName == actual.typeName else { return .mismatch }
            return outcome(operand == actual)
        case (.isIn(let operands), .list(let items)):
            guard operands.allSatisfy({ $0.typeName == "string" }) else { return .mismatch }
            return outcome(items.contains(where: operands.contains))
        case (.isIn(let operands), _):
            guard operands.contains(where: { $0.typeName == actual.typeName }) else { return .mismatch }
            return outcome(operands.contains(actual))
        case (.atLeast(let bound), .number(let n)): return outcome(n >= bound)
        case (.atMost(let bound), .number(let n)): return outcome(n <= bound)
        case (.atLeast, _), (.atMost, _): return .mismatch
        case (.exists, _): return .fail
        }
    }

    /// The value of `field` for this request; `nil` when it is missing.
    func value(of field: PolicyField) -> PolicyValue? {
        let result = request.result
        let resource = request.resource
        func nonEmpty(_ text: String?) -> PolicyValue? { text.flatMap { $0.isEmpty ? nil : .string($0) } }
        switch field {
        case .status: return .string(result.status.rawValue)
        case .tee: return nonEmpty(result.tee.rawValue)
        case .referenceSet: return nonEmpty(result.referenceValueSet)
        case .debug: return .bool(result.debug)
        case .svn: return .number(Double(result.svn))
        case .measurement: return nonEmpty(result.measurement)
        case .evidenceDigest: return nonEmpty(result.evidenceDigest)
        case .tcbStatus: return result.tcbStatus.map { .string($0.rawValue) }
        case .qeStatus: return result.qeStatus.map { .string($0.rawValue) }
        case .failures:
            var seen: Set<String> = []
            let reasons = result.failures.map(\.reason.rawValue).filter { seen.insert($0).inserted }
            return reasons.isEmpty ? nil : .list(reasons.map(PolicyValue.string))
        case .trustInstanceIdentity: return .number(Double(result.trustworthiness.instanceIdentity))
        case .trustConfiguration: return .number(Double(result.trustworthiness.configuration))
        case .trustExecutables: return .number(Double(result.trustworthiness.executables))
        case .trustHardware: return .number(Double(result.trustworthiness.hardware))
        case .resource: return .string(resource.description)
        case .resourceRepository: return .string(resource.repository)
        case .resourceType: return .string(resource.type)
        case .resourceTag: return .string(resource.tag)
        case .tenant: return TenantID.isValid(resource.repository) ? .string(resource.repository) : nil
        case .dataClass: return resource.type == "kek" && DataClass.isValid(resource.tag) ? .string(resource.tag) : nil
        case .imageDigest: return nonEmpty(result.image?.digest)
        case .imageSignedBy: return nonEmpty(result.image?.signedBy)
        case .modelDigest: return nonEmpty(request.modelDigest)
        }
    }

    /// The default reason of a node without its own: a condition's field default; for a combinator, the default
    /// shared by every condition below it, else `policy_denied`.
    static func defaultReason(_ node: PolicyNode) -> String {
        var reasons: Set<String> = []
        func collect(_ node: PolicyNode) {
            switch node {
            case .allOf(let items, _), .anyOf(let items, _): items.forEach(collect)
            case .not(let item, _): collect(item)
            case .condition(let condition, _): reasons.insert(condition.field.defaultReason)
            }
        }
        collect(node)
        return reasons.count == 1 ? reasons.first ?? denied : denied
    }
}
