import Foundation
import ReleasePolicy
import Testing

@Suite("Release policy loading")
struct LoaderTests {
    static let ok = #"{"field": "svn", ">=": 1}"#

    static func policy(_ rule: String, extra: String = "") -> String { #"{"id": "p", "rule": \#(rule)\#(extra)}"# }

    struct Malformed: CustomTestStringConvertible, Sendable {
        let label: String
        let json: String
        let problem: String
        var testDescription: String { label }
    }

    static let malformed: [Malformed] = [
        .init(label: "unknown policy key", json: policy(ok, extra: #", "extra": 1"#),
              problem: "$: unknown key 'extra' (a policy has id, description, applies_to, rule)"),
        .init(label: "unknown node key", json: policy(#"{"allOf": [\#(ok)], "because": "x"}"#),
              problem: "$.rule: unknown key 'because' in a 'allOf' node"),
        .init(label: "unknown field", json: policy(#"{"field": "colour", "equals": "x"}"#), problem: "$.rule.field: unknown field 'colour'"),
        .init(label: "unknown operator", json: policy(#"{"allOf": [\#(ok), \#(ok), {"field": "svn", "gt": 3}]}"#),
              problem: "$.rule.allOf[2]: unknown operator 'gt'"),
        .init(label: "no operator", json: policy(#"{"field": "svn"}"#),
              problem: "$.rule: condition without an operator (one of equals, in, >=, <=, exists)"),
        .init(label: "two operators", json: policy(#"{"field": "svn", ">=": 1, "<=": 3}"#),
              problem: "$.rule: condition with 2 operators ('<=', '>='); exactly one is allowed"),
        .init(label: "empty allOf", json: policy(#"{"allOf": []}"#), problem: "$.rule.allOf: empty 'allOf'"),
        .init(label: "empty anyOf", json: policy(#"{"not": {"anyOf": []}}"#), problem: "$.rule.not.anyOf: empty 'anyOf'"),
        .init(label: "empty in", json: policy(#"{"field": "tee", "in": []}"#), problem: "$.rule.in: empty 'in' list"),
        .init(label: "bad reason code", json: policy(#"{"field": "svn", ">=": 1, "reason": "Bad-Code"}"#),
              problem: "$.rule.reason: 'Bad-Code' is not a snake_case reason code (a-z, 0-9, '_', starting with a letter, at most 64)"),
        .init(label: "operand of the wrong type", json: policy(#"{"field": "svn", ">=": "3"}"#), problem: "$.rule['>=']: expected a number, found string"),
        .init(label: "null operand", json: policy(#"{"field": "tee", "equals": null}"#),
              problem: "$.rule.equals: expected a string, number or boolean, found null (use exists: false)"),
        .init(label: "two kinds in one node", json: policy(#"{"not": \#(ok), "field": "svn", "exists": true}"#),
              problem: "$.rule: a node has exactly one of 'allOf', 'anyOf', 'not', 'field'; found 'not', 'field'"),
        .init(label: "operator without field", json: policy(#"{"equals": 3}"#), problem: "$.rule: condition without 'field'"),
        .init(label: "duplicate node name", json: policy(#"{"allOf": [{"field": "svn", ">=": 1, "name": "a"}, {"field": "svn", "<=": 9, "name": "a"}]}"#),
              problem: "$.rule.allOf[1].name: duplicate node name 'a' in this policy"),
        .init(label: "unknown applies_to key", json: policy(ok, extra: #", "applies_to": {"region": "eu"}"#),
              problem: "$.applies_to: unknown key 'region' (applies_to has tenant, data_class, resource_type, resource_tag)"),
        .init(label: "empty applies_to list", json: policy(ok, extra: #", "applies_to": {"tenant": []}"#),
              problem: "$.applies_to.tenant: empty list (leave the key out to match any)"),
        .init(label: "missing rule", json: #"{"id": "p"}"#, problem: "$: missing 'rule'"),
        .init(label: "bad id", json: #"{"id": "a/b", "rule": \#(ok)}"#,
              problem: "$.id: 'a/b' is not a valid id (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)"),
        .init(label: "duplicate policy ids", json: "[\(policy(ok)), \(policy(ok))]", problem: "$[1].id: duplicate policy id 'p' (first at $[0])"),
        .init(label: "policies wrapper path", json: #"{"policies": [\#(policy(ok)), {"id": "q", "rule": {"field": "colour", "exists": true}}]}"#,
              problem: "$.policies[1].rule.field: unknown field 'colour'"),
        .init(label: "not JSON", json: "{", problem: "$: not valid JSON"),
        .init(label: "not a policy", json: "3", problem: "$: expected a policy, a list of policies or {\"policies\": [...]}, found number"),
    ]

    @Test("The loader rejects each malformed policy with the problem's JSON path", arguments: malformed)
    func rejects(_ c: Malformed) {
        let problems = Fixtures.problems(c.json)
        #expect(problems.contains(c.problem), "\(problems)")
    }

    @Test("Every problem in a file is reported at once")
    func allProblems() {
        let json = #"[{"id": "p", "rule": {"allOf": [{"field": "svn", "gt": 3}, {"field": "colour", "exists": true}, {"anyOf": []}]}}, {"id": "q", "rulez": 1}]"#
        #expect(Fixtures.problems(json) == [
            "$[0].rule.allOf[0]: unknown operator 'gt'",
            "$[0].rule.allOf[0]: condition without an operator (one of equals, in, >=, <=, exists)",
            "$[0].rule.allOf[1].field: unknown field 'colour'",
            "$[0].rule.allOf[2].anyOf: empty 'anyOf'",
            "$[1]: unknown key 'rulez' (a policy has id, description, applies_to, rule)",
            "$[1]: missing 'rule'",
        ])
    }

    @Test("Nesting deeper than 32 levels is rejected; 32 is accepted")
    func depth() {
        func nested(_ levels: Int) -> String {
            String(repeating: #"{"not": "#, count: levels - 1) + Self.ok + String(repeating: "}", count: levels - 1)
        }
        #expect(Fixtures.problems(Self.policy(nested(32))).isEmpty)
        let path = "$.rule" + String(repeating: ".not", count: 32)
        #expect(Fixtures.problems(Self.policy(nested(33))) == ["\(path): nesting deeper than 32 levels"])
    }

    @Test("More than 1000 nodes in one policy are rejected; 1000 are accepted")
    func nodeCount() {
        func wide(_ children: Int) -> String { #"{"allOf": ["# + Array(repeating: Self.ok, count: children).joined(separator: ",") + "]}" }
        #expect(Fixtures.problems(Self.policy(wide(999))).isEmpty)
        #expect(Fixtures.problems(Self.policy(wide(1000))) == ["$.rule.allOf[999]: more than 1000 nodes in one policy"])
        #expect(Fixtures.problems("[\(Self.policy(wide(999))), \(#"{"id": "q", "rule": \#(wide(999))}"#)]").isEmpty)
    }

    @Test("One policy, a list, or {policies: [...]} load the same; PolicySet rejects duplicate ids")
    func shapes() throws {
        let one = try ReleasePolicyLoader.decode(Data(Fixtures.exampleJSON.utf8))
        let list = try ReleasePolicyLoader.decode(Data("[\(Fixtures.exampleJSON)]".utf8))
        let wrapped = try ReleasePolicyLoader.decode(Data(#"{"policies": [\#(Fixtures.exampleJSON)]}"#.utf8))
        #expect(one.count == 1 && one == list && list == wrapped)
        #expect(one.first == (try Fixtures.example()))
        #expect(throws: ReleasePolicyError.self) { try PolicySet(one + one) }
        let repoFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/policies/acme.json")
        let examples = try ReleasePolicyLoader.decode(try Data(contentsOf: repoFile))
        #expect(examples.map(\.id) == ["acme-restricted-hardware", "acme-no-attestation-failures"])
    }

    @Test("Policies round-trip through their JSON encoding")
    func roundTrip() throws {
        let policies = [
            try Fixtures.example(), .brokerDefault(allowMockEvidence: false), .brokerDefault(allowMockEvidence: true),
            ReleasePolicyDocument(
                id: "all-kinds", description: nil,
                appliesTo: .init(tenants: ["acme", "globex"], dataClasses: ["restricted"], resourceTypes: ["kek"], resourceTags: ["restricted"]),
                rule: .allOf([
                    .when(.trustHardware, .atMost(31.5)), .when(.failures, .isIn(["debug_enabled", 3, true])),
                    .not(.when(.evidenceDigest, .exists(false)), NodeLabel(name: "digest", reason: "no_digest")),
                ], NodeLabel(reason: "all_kinds"))),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for policy in policies {
            let data = try encoder.encode(policy)
            #expect(try JSONDecoder().decode(ReleasePolicyDocument.self, from: data) == policy)
            #expect(try ReleasePolicyLoader.decode(data) == [policy])
            #expect(try encoder.encode(try JSONDecoder().decode(ReleasePolicyDocument.self, from: data)) == data)
        }
        let node = try encoder.encode(PolicyNode.when(.svn, .atLeast(3), name: "tcb"))
        #expect(String(decoding: node, as: UTF8.self) == #"{">=":3,"field":"svn","name":"tcb"}"#)
        #expect(throws: ReleasePolicyError.self) { try JSONDecoder().decode(PolicyNode.self, from: Data(#"{"field": "svn", "gt": 3}"#.utf8)) }
    }

    @Test("Resource paths: exactly three non-empty segments of [A-Za-z0-9._-], no '..', at most 64 characters each")
    func resourcePaths() throws {
        let ref = try #require(ResourceRef(path: "acme/kek/restricted"))
        #expect(ref.repository == "acme" && ref.type == "kek" && ref.tag == "restricted" && ref.description == "acme/kek/restricted")
        #expect(ResourceRef(path: "Acme.Corp/secret/hmac_v-2") != nil)
        #expect(ResourceRef(path: String(repeating: "a", count: 64) + "/kek/x") != nil)
        for bad in ["acme/kek", "acme/kek/x/y", "acme//x", "/kek/x", "acme/kek/", "acme/../x", "a..b/kek/x", "./kek/x", "acme/kek/re stricted",
                    "acme/kek/é", String(repeating: "a", count: 65) + "/kek/x", ""] {
            #expect(ResourceRef(path: bad) == nil, "\(bad)")
        }
        let data = try JSONEncoder().encode(ref)
        #expect(String(decoding: data, as: UTF8.self) == #""acme\/kek\/restricted""# || String(decoding: data, as: UTF8.self) == #""acme/kek/restricted""#)
        #expect(try JSONDecoder().decode(ResourceRef.self, from: data) == ref)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ResourceRef.self, from: Data(#""a/../b""#.utf8)) }
    }
}
