import Attestation
import Foundation

/// One release policy: which resources it applies to and the rule a request for them must pass.
///
/// Encoded as in `docs/release-policy.md`; decoding validates strictly and throws ``ReleasePolicyError``.
public struct ReleasePolicyDocument: Sendable, Equatable, Codable {
    /// The policy's id: 1–64 of `[A-Za-z0-9._-]`; decisions name it.
    public var id: String
    /// A human-readable description.
    public var description: String?
    /// The resources the policy applies to (`applies_to`); empty matches every resource.
    public var appliesTo: Selector
    /// The rule a request must pass.
    public var rule: PolicyNode

    /// Creates a policy.
    public init(id: String, description: String? = nil, appliesTo: Selector = Selector(), rule: PolicyNode) {
        self.id = id
        self.description = description
        self.appliesTo = appliesTo
        self.rule = rule
    }

    /// Whether the policy applies to a request for `resource`.
    public func applies(to resource: ResourceRef) -> Bool { appliesTo.matches(resource) }

    /// Which resources a policy applies to. Each list is optional (absent matches anything); a resource must
    /// match every list given.
    public struct Selector: Sendable, Equatable {
        /// `tenant`: the resource's repository is one of these.
        public var tenants: [String]?
        /// `data_class`: the resource is a `kek` and its tag is one of these.
        public var dataClasses: [String]?
        /// `resource_type`: the resource's type is one of these.
        public var resourceTypes: [String]?
        /// `resource_tag`: the resource's tag is one of these.
        public var resourceTags: [String]?

        /// Creates a selector; the default matches every resource.
        public init(tenants: [String]? = nil, dataClasses: [String]? = nil, resourceTypes: [String]? = nil, resourceTags: [String]? = nil) {
            self.tenants = tenants
            self.dataClasses = dataClasses
            self.resourceTypes = resourceTypes
            self.resourceTags = resourceTags
        }

        /// Whether `resource` matches every list given.
        public func matches(_ resource: ResourceRef) -> Bool {
            if let tenants, !tenants.contains(resource.repository) { return false }
            if let resourceTypes, !resourceTypes.contains(resource.type) { return false }
            if let resourceTags, !resourceTags.contains(resource.tag) { return false }
            if let dataClasses, resource.type != "kek" || !dataClasses.contains(resource.tag) { return false }
            return true
        }

        var json: JSONValue? {
            var members: [String: JSONValue] = [:]
            func list(_ items: [String]?) -> JSONValue? {
                guard let items else { return nil }
                return items.count == 1 ? .string(items[0]) : .array(items.map(JSONValue.string))
            }
            members["tenant"] = list(tenants)
            members["data_class"] = list(dataClasses)
            members["resource_type"] = list(resourceTypes)
            members["resource_tag"] = list(resourceTags)
            return members.isEmpty ? nil : .object(members)
        }
    }

    public init(from decoder: any Decoder) throws {
        let json = try JSONValue(from: decoder)
        var parser = PolicyParser()
        let document = parser.document(json, path: "$")
        guard let document, parser.problems.isEmpty else { throw ReleasePolicyError(problems: parser.problems) }
        self = document
    }

    public func encode(to encoder: any Encoder) throws {
        var members: [String: JSONValue] = ["id": .string(id), "rule": JSONValue(rule)]
        if let description { members["description"] = .string(description) }
        if let selector = appliesTo.json { members["applies_to"] = selector }
        try JSONValue.object(members).encode(to: encoder)
    }
}

extension ReleasePolicyDocument {
    /// The id of ``brokerDefault(allowMockEvidence:)``.
    public static let brokerDefaultID = "broker-default"

    /// The broker's default when no policy applies: status affirming, or (tee == mock and status == warning) when
    /// `allowMockEvidence`.
    ///
    /// - Parameter allowMockEvidence: also accept mock (software) evidence, whose appraisal is at best `warning`.
    ///   Development only: mock evidence carries no hardware guarantee.
    public static func brokerDefault(allowMockEvidence: Bool) -> ReleasePolicyDocument {
        let affirming = PolicyNode.when(.status, .equals("affirming"), name: "status-affirming")
        guard allowMockEvidence else {
            return ReleasePolicyDocument(
                id: brokerDefaultID, description: "Release only on an affirming attestation result.", rule: affirming)
        }
        let mock = PolicyNode.allOf(
            [.when(.tee, .equals("mock")), .when(.status, .equals("warning"))], NodeLabel(name: "insecure-mock-evidence"))
        return ReleasePolicyDocument(
            id: brokerDefaultID,
            description: "Release on an affirming attestation result, or on mock evidence appraised as warning (development only).",
            rule: .anyOf([affirming, mock], NodeLabel(name: "accepted-status", reason: "status_not_accepted")))
    }
}
