import Foundation

/// The optional annotations every policy node may carry.
public struct NodeLabel: Sendable, Hashable {
    /// A name unique within its policy; a decision made by this node is reported as `<policy id>/<name>`.
    public var name: String?
    /// A stable snake_case reason code reported when this node decides a denial.
    public var reason: String?

    /// Creates a label.
    public init(name: String? = nil, reason: String? = nil) {
        self.name = name
        self.reason = reason
    }
}

/// One node of a release policy's rule tree: a combinator or a condition on one field.
///
/// Encoded as in `docs/release-policy.md`: `{"allOf": [...]}`, `{"anyOf": [...]}`, `{"not": {...}}` or
/// `{"field": "svn", ">=": 3}`, each with optional `name` and `reason`. Decoding validates strictly and throws
/// ``ReleasePolicyError``.
public indirect enum PolicyNode: Sendable, Equatable, Codable {
    /// Passes when every child passes.
    case allOf([PolicyNode], NodeLabel = NodeLabel())
    /// Passes when at least one child passes.
    case anyOf([PolicyNode], NodeLabel = NodeLabel())
    /// Passes when its child fails.
    case not(PolicyNode, NodeLabel = NodeLabel())
    /// Passes when the field satisfies the test.
    case condition(PolicyCondition, NodeLabel = NodeLabel())

    /// The node's annotations.
    public var label: NodeLabel {
        switch self {
        case .allOf(_, let l), .anyOf(_, let l), .not(_, let l), .condition(_, let l): return l
        }
    }

    /// `allOf`, `anyOf`, `not` or `condition`.
    public var kind: String {
        switch self {
        case .allOf: return "allOf"
        case .anyOf: return "anyOf"
        case .not: return "not"
        case .condition: return "condition"
        }
    }

    /// The same node with another label.
    public func labeled(name: String? = nil, reason: String? = nil) -> PolicyNode {
        let label = NodeLabel(name: name, reason: reason)
        switch self {
        case .allOf(let c, _): return .allOf(c, label)
        case .anyOf(let c, _): return .anyOf(c, label)
        case .not(let c, _): return .not(c, label)
        case .condition(let c, _): return .condition(c, label)
        }
    }

    /// A condition node: `field` satisfies `test`.
    public static func when(_ field: PolicyField, _ test: PolicyTest, name: String? = nil, reason: String? = nil) -> PolicyNode {
        .condition(PolicyCondition(field, test), NodeLabel(name: name, reason: reason))
    }

    public init(from decoder: any Decoder) throws {
        let json = try JSONValue(from: decoder)
        var parser = PolicyParser()
        let node = parser.node(json, path: "$", depth: 1)
        guard let node, parser.problems.isEmpty else { throw ReleasePolicyError(problems: parser.problems) }
        self = node
    }

    public func encode(to encoder: any Encoder) throws {
        try JSONValue(self).encode(to: encoder)
    }
}

/// A condition: one field and one test.
public struct PolicyCondition: Sendable, Hashable {
    /// The field tested.
    public var field: PolicyField
    /// The operator and its operand.
    public var test: PolicyTest

    /// Creates a condition.
    public init(_ field: PolicyField, _ test: PolicyTest) {
        self.field = field
        self.test = test
    }
}

/// A condition's operator with its operand.
public enum PolicyTest: Sendable, Hashable {
    /// `equals`: the field equals the scalar; for a list field, the list contains it.
    case equals(PolicyValue)
    /// `in`: the field equals one of the scalars; for a list field, the lists share an element.
    case isIn([PolicyValue])
    /// `>=`: a numeric field is at least the operand.
    case atLeast(Double)
    /// `<=`: a numeric field is at most the operand.
    case atMost(Double)
    /// `exists`: whether the field is present (`true`) or absent (`false`).
    case exists(Bool)

    /// The operator as written in policies: `equals`, `in`, `>=`, `<=`, `exists`.
    public var operatorName: String {
        switch self {
        case .equals: return "equals"
        case .isIn: return "in"
        case .atLeast: return ">="
        case .atMost: return "<="
        case .exists: return "exists"
        }
    }

    /// The operand as a value.
    public var operand: PolicyValue {
        switch self {
        case .equals(let v): return v
        case .isIn(let vs): return .list(vs)
        case .atLeast(let n), .atMost(let n): return .number(n)
        case .exists(let b): return .bool(b)
        }
    }

    /// Every operator name the loader accepts.
    public static let operatorNames = ["equals", "in", ">=", "<=", "exists"]
}

/// A field a condition can test: claims of the attestation result or parts of the request.
public enum PolicyField: String, Sendable, Hashable, CaseIterable, Codable {
    case status, tee, debug, svn, measurement, failures
    case referenceSet = "reference_set"
    case evidenceDigest = "evidence_digest"
    /// The vendor's platform TCB rating (TDX: Intel TCB Info), e.g. `UpToDate`; absent when not rated.
    case tcbStatus = "tcb_status"
    /// The vendor's rating of the evidence signer (TDX: the QE, Intel QE Identity).
    case qeStatus = "qe_status"
    case trustInstanceIdentity = "trust.instance-identity"
    case trustConfiguration = "trust.configuration"
    case trustExecutables = "trust.executables"
    case trustHardware = "trust.hardware"
    case resource
    case resourceRepository = "resource.repository"
    case resourceType = "resource.type"
    case resourceTag = "resource.tag"
    case tenant
    case dataClass = "data_class"
    /// The image manifest digest the verified init-data names (`sha256:<hex>`); absent without one.
    case imageDigest = "image.digest"
    /// Who signed that image (a certificate identity, or `key:sha256:<hex>`), when the matched reference value set
    /// required a signature; absent otherwise.
    case imageSignedBy = "image.signed_by"
    /// The model digest registered with the requested resource (``ReleaseRequest/modelDigest``); absent without one.
    case modelDigest = "model.digest"

    /// The reason code a failing condition on this field reports when its node names none.
    public var defaultReason: String {
        switch self {
        case .status: return "status_not_accepted"
        case .tee: return "evidence_type_not_allowed"
        case .referenceSet: return "reference_set_not_allowed"
        case .debug: return "debug_enabled"
        case .svn: return "tcb_below_minimum"
        case .measurement: return "measurement_not_allowed"
        case .failures: return "attestation_failures_present"
        case .evidenceDigest: return "policy_denied"
        case .tcbStatus, .qeStatus: return "tcb_status_not_accepted"
        case .trustInstanceIdentity, .trustConfiguration, .trustExecutables, .trustHardware:
            return "trustworthiness_insufficient"
        case .resource, .resourceRepository, .resourceType, .resourceTag, .tenant, .dataClass:
            return "resource_not_allowed"
        case .imageDigest: return "image_not_allowed"
        case .imageSignedBy: return "image_signer_not_allowed"
        case .modelDigest: return "model_not_allowed"
        }
    }
}

extension PolicyValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension JSONValue {
    /// The encoding of a node, as the loader reads it back.
    init(_ node: PolicyNode) {
        var members: [String: JSONValue] = [:]
        switch node {
        case .allOf(let children, _): members["allOf"] = .array(children.map(JSONValue.init))
        case .anyOf(let children, _): members["anyOf"] = .array(children.map(JSONValue.init))
        case .not(let child, _): members["not"] = JSONValue(child)
        case .condition(let condition, _):
            members["field"] = .string(condition.field.rawValue)
            members[condition.test.operatorName] = JSONValue(condition.test.operand)
        }
        if let name = node.label.name { members["name"] = .string(name) }
        if let reason = node.label.reason { members["reason"] = .string(reason) }
        self = .object(members)
    }
}
