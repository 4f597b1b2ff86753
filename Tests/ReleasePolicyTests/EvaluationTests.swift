import Attestation
import Foundation
import ReleasePolicy
import Testing

@Suite("Release policy evaluation")
struct EvaluationTests {
    struct OperatorCase: CustomTestStringConvertible, Sendable {
        let label: String
        let node: PolicyNode
        let passes: Bool
        var testDescription: String { label }
    }

    static let operatorCases: [OperatorCase] = [
        .init(label: "equals string, same", node: .when(.status, .equals("affirming")), passes: true),
        .init(label: "equals string, different", node: .when(.status, .equals("warning")), passes: false),
        .init(label: "equals bool, same", node: .when(.debug, .equals(false)), passes: true),
        .init(label: "equals bool, different", node: .when(.debug, .equals(true)), passes: false),
        .init(label: "equals number, same", node: .when(.svn, .equals(5)), passes: true),
        .init(label: "equals number, different", node: .when(.svn, .equals(4)), passes: false),
        .init(label: "in, member", node: .when(.tee, .isIn(["tdx", "snp"])), passes: true),
        .init(label: "in, not a member", node: .when(.tee, .isIn(["tdx", "nitro"])), passes: false),
        .init(label: ">=, above", node: .when(.svn, .atLeast(3)), passes: true),
        .init(label: ">=, equal", node: .when(.svn, .atLeast(5)), passes: true),
        .init(label: ">=, below", node: .when(.svn, .atLeast(6)), passes: false),
        .init(label: "<=, below", node: .when(.trustHardware, .atMost(31)), passes: true),
        .init(label: "<=, above", node: .when(.trustHardware, .atMost(1)), passes: false),
        .init(label: "exists true, present", node: .when(.measurement, .exists(true)), passes: true),
        .init(label: "exists true, absent", node: .when(.failures, .exists(true)), passes: false),
        .init(label: "exists false, present", node: .when(.referenceSet, .exists(false)), passes: false),
        .init(label: "exists false, absent", node: .when(.failures, .exists(false)), passes: true),
        .init(label: "resource equals path", node: .when(.resource, .equals("acme/kek/restricted")), passes: true),
        .init(label: "resource.type in", node: .when(.resourceType, .isIn(["secret"])), passes: false),
        .init(label: "tenant equals", node: .when(.tenant, .equals("acme")), passes: true),
        .init(label: "data_class equals tag of a kek", node: .when(.dataClass, .equals("restricted")), passes: true),
    ]

    @Test("Every operator is true and false where it should be", arguments: operatorCases)
    func operators(_ c: OperatorCase) throws {
        let decision = try Fixtures.decide(Fixtures.single(c.node))
        #expect(decision.allowed == c.passes)
        #expect((decision.reason == "granted") == c.passes)
    }

    @Test("tcb_status and qe_status name the vendor's rating; absent when the evidence type is not rated")
    func tcbStatusFields() throws {
        var rated = Fixtures.result(tee: .tdx)
        rated.tcbStatus = TCBStatus("SWHardeningNeeded")
        rated.qeStatus = TCBStatus("UpToDate")
        let set = try PolicySet([Fixtures.single(.when(.tcbStatus, .isIn(["UpToDate", "SWHardeningNeeded"])), id: "tcb")])
        #expect(set.evaluate(Fixtures.request(rated), fallback: Fixtures.strictFallback).allowed)
        let qe = try PolicySet([Fixtures.single(.when(.qeStatus, .equals("OutOfDate")), id: "qe")])
        let refused = qe.evaluate(Fixtures.request(rated), fallback: Fixtures.strictFallback)
        #expect(!refused.allowed && refused.reason == "tcb_status_not_accepted")
        #expect(!set.evaluate(Fixtures.request(Fixtures.result()), fallback: Fixtures.strictFallback).allowed)
    }

    @Test("failures: equals and in test membership, an empty list counts as absent")
    func failuresField() throws {
        let failing = Fixtures.request(Fixtures.result(status: .contraindicated, failures: [.debugEnabled, .tcbOutOfDate]))
        let clean = Fixtures.request()
        let contains = Fixtures.single(.when(.failures, .equals("tcb_out_of_date")))
        #expect(try Fixtures.decide(contains, failing).allowed)
        #expect(try !Fixtures.decide(contains, clean).allowed)
        let overlap = Fixtures.single(.when(.failures, .isIn(["signature_invalid", "debug_enabled"])))
        #expect(try Fixtures.decide(overlap, failing).allowed)
        #expect(try !Fixtures.decide(Fixtures.single(.when(.failures, .isIn(["signature_invalid"]))), failing).allowed)
        let none = Fixtures.single(.when(.failures, .exists(false)))
        #expect(try Fixtures.decide(none, clean).allowed)
        let denied = try Fixtures.decide(none, failing)
        #expect(!denied.allowed)
        #expect(denied.reason == "attestation_failures_present")
        #expect(denied.trace.last?.actual == .list(["debug_enabled", "tcb_out_of_date"]))
    }

    @Test("Nesting and not: allOf inside anyOf inside not")
    func nesting() throws {
        let insecure = PolicyNode.anyOf([.when(.debug, .equals(true)), .allOf([.when(.tee, .equals("mock")), .when(.svn, .atMost(1))])])
        let policy = Fixtures.single(.not(insecure))
        #expect(try Fixtures.decide(policy, Fixtures.request(Fixtures.result())).allowed)
        #expect(try !Fixtures.decide(policy, Fixtures.request(Fixtures.result(debug: true))).allowed)
        #expect(try !Fixtures.decide(policy, Fixtures.request(Fixtures.result(tee: .mock, svn: 1))).allowed)
        #expect(try Fixtures.decide(policy, Fixtures.request(Fixtures.result(tee: .mock, svn: 2))).allowed)
        let decision = try Fixtures.decide(policy, Fixtures.request(Fixtures.result(debug: true)))
        #expect(decision.rule == "p/not")
        #expect(decision.reason == "policy_denied")  // debug and tee/svn conditions have different defaults
        #expect(decision.trace.map(\.path) == ["p", "p/not", "p/not/anyOf", "p/not/anyOf[0]/debug", "p/not/anyOf[1]/allOf", "p/not/anyOf[1]/allOf[0]/tee", "p/not/anyOf[1]/allOf[1]/svn"])
    }

    @Test("A missing field makes its condition false; exists false is then true")
    func missingFields() throws {
        let noSet = Fixtures.request(Fixtures.result(referenceSet: nil, measurement: ""))
        #expect(try !Fixtures.decide(Fixtures.single(.when(.referenceSet, .equals("snp-prod"))), noSet).allowed)
        #expect(try !Fixtures.decide(Fixtures.single(.when(.measurement, .isIn(["ab"]))), noSet).allowed)
        #expect(try Fixtures.decide(Fixtures.single(.when(.referenceSet, .exists(false))), noSet).allowed)
        #expect(try Fixtures.decide(Fixtures.single(.not(.when(.referenceSet, .equals("x")))), noSet).allowed)
        let secret = Fixtures.request(Fixtures.result(), "acme/secret/hmac")
        let decision = try Fixtures.decide(Fixtures.single(.when(.dataClass, .equals("hmac"))), secret)
        #expect(!decision.allowed)
        #expect(decision.reason == "resource_not_allowed")
        #expect(decision.trace.last?.actual == nil)
        let odd = Fixtures.request(Fixtures.result(), "Acme.Corp/kek/x")
        #expect(try Fixtures.decide(Fixtures.single(.when(.tenant, .exists(false))), odd).allowed)
    }

    @Test("A type mismatch is a false condition with policy_type_mismatch, and a not around it cannot grant")
    func typeMismatch() throws {
        let decision = try Fixtures.decide(Fixtures.single(.when(.tee, .atLeast(3))))
        #expect(!decision.allowed)
        #expect(decision.reason == "policy_type_mismatch")
        #expect(decision.trace.last?.reason == "policy_type_mismatch")
        #expect(decision.trace.last?.outcome == .failed)
        let negated = try Fixtures.decide(Fixtures.single(.not(.when(.debug, .equals("no")))))
        #expect(!negated.allowed)
        #expect(negated.rule == "p/not/debug")
        #expect(negated.reason == "policy_type_mismatch")
        let alternative = try Fixtures.decide(Fixtures.single(.anyOf([.when(.status, .equals("affirming")), .when(.svn, .isIn(["3"]))])))
        #expect(!alternative.allowed)
        #expect(alternative.rule == "p/anyOf[1]/svn")
        #expect(try !Fixtures.decide(Fixtures.single(.when(.failures, .equals(3))), Fixtures.request(Fixtures.result(failures: [.debugEnabled]))).allowed)
    }

    @Test("applies_to selects by tenant, data class, resource type and tag, each value or list")
    func selection() throws {
        typealias S = ReleasePolicyDocument.Selector
        let kek = try #require(ResourceRef(path: "acme/kek/restricted"))
        let secret = try #require(ResourceRef(path: "acme/secret/hmac"))
        let other = try #require(ResourceRef(path: "globex/kek/restricted"))
        #expect(S().matches(kek) && S().matches(secret) && S().matches(other))
        #expect(S(tenants: ["acme"]).matches(kek) && S(tenants: ["acme"]).matches(secret) && !S(tenants: ["acme"]).matches(other))
        #expect(S(tenants: ["globex", "acme"]).matches(other))
        #expect(S(dataClasses: ["restricted", "internal"]).matches(kek) && !S(dataClasses: ["restricted"]).matches(secret))
        #expect(!S(dataClasses: ["hmac"]).matches(secret))
        #expect(S(resourceTypes: ["secret"]).matches(secret) && !S(resourceTypes: ["secret"]).matches(kek))
        #expect(S(resourceTags: ["hmac"]).matches(secret))
        #expect(!S(tenants: ["acme"], resourceTypes: ["kek"]).matches(secret))
        let docs = try ReleasePolicyLoader.decode(Data(#"{"id": "x", "applies_to": {"tenant": ["acme", "globex"], "resource_type": "kek"}, "rule": {"field": "svn", ">=": 1}}"#.utf8))
        #expect(docs.first?.applies(to: other) == true)
        #expect(docs.first?.applies(to: secret) == false)
    }

    @Test("Every applicable policy must pass: the second one failing decides, naming itself and its rule")
    func everyPolicy() throws {
        let first = ReleasePolicyDocument(id: "acme-status", appliesTo: .init(tenants: ["acme"]), rule: .when(.status, .equals("affirming")))
        let second = ReleasePolicyDocument(
            id: "acme-tcb", appliesTo: .init(resourceTypes: ["kek"]),
            rule: .allOf([.when(.tee, .isIn(["snp"])), .when(.svn, .atLeast(9), name: "min-tcb")]))
        let unrelated = ReleasePolicyDocument(id: "globex", appliesTo: .init(tenants: ["globex"]), rule: .when(.svn, .atLeast(100)))
        let set = try PolicySet([first, unrelated, second])
        let decision = set.evaluate(Fixtures.request(), fallback: .brokerDefault(allowMockEvidence: true))
        #expect(!decision.allowed)
        #expect(decision.policyID == "acme-tcb")
        #expect(decision.rule == "acme-tcb/min-tcb")
        #expect(decision.reason == "tcb_below_minimum")
        #expect(decision.trace.filter { $0.kind == "policy" }.map(\.path) == ["acme-status", "acme-tcb"])
        let passing = set.evaluate(Fixtures.request(Fixtures.result(svn: 9)), fallback: Fixtures.strictFallback)
        #expect(passing.allowed && passing.policyID == "acme-tcb" && passing.rule == "acme-tcb/allOf" && passing.reason == "granted")
    }

    @Test("The fallback decides only when no policy applies")
    func fallback() throws {
        let set = try PolicySet([ReleasePolicyDocument(id: "acme-any", appliesTo: .init(tenants: ["acme"]), rule: .when(.svn, .atLeast(0)))])
        let mockWarning = Fixtures.result(status: .warning, tee: .mock, referenceSet: nil)
        let applies = set.evaluate(Fixtures.request(mockWarning), fallback: Fixtures.strictFallback)
        #expect(applies.allowed && applies.policyID == "acme-any")
        #expect(!applies.trace.contains { $0.kind == "fallback" })
        let strict = set.evaluate(Fixtures.request(mockWarning, "globex/kek/restricted"), fallback: Fixtures.strictFallback)
        #expect(!strict.allowed)
        #expect(strict.policyID == "broker-default" && strict.rule == "broker-default/status-affirming" && strict.reason == "status_not_accepted")
        #expect(strict.trace.first?.kind == "fallback")
        let dev = ReleasePolicyDocument.brokerDefault(allowMockEvidence: true)
        #expect(set.evaluate(Fixtures.request(mockWarning, "globex/kek/restricted"), fallback: dev).allowed)
        let snpWarning = set.evaluate(Fixtures.request(Fixtures.result(status: .warning), "globex/kek/restricted"), fallback: dev)
        #expect(!snpWarning.allowed && snpWarning.rule == "broker-default/accepted-status" && snpWarning.reason == "status_not_accepted")
        #expect(set.evaluate(Fixtures.request(Fixtures.result(), "globex/kek/restricted"), fallback: Fixtures.strictFallback).allowed)
    }

    struct RuleCase: CustomTestStringConvertible, Sendable {
        let label: String
        let result: AttestationResult
        let rule: String
        let reason: String
        var testDescription: String { label }
    }

    static let ruleCases: [RuleCase] = [
        .init(label: "granted", result: Fixtures.result(), rule: "acme-restricted-hardware/allOf", reason: "granted"),
        .init(label: "status", result: Fixtures.result(status: .warning), rule: "acme-restricted-hardware/allOf[0]/status", reason: "status_not_accepted"),
        .init(label: "debug", result: Fixtures.result(debug: true), rule: "acme-restricted-hardware/allOf[1]/not", reason: "debug_enabled"),
        .init(label: "tee", result: Fixtures.result(tee: .nitro, referenceSet: "nitro-dev"), rule: "acme-restricted-hardware/hardware-tee", reason: "policy_denied"),
        .init(label: "svn", result: Fixtures.result(svn: 2), rule: "acme-restricted-hardware/allOf[3]/svn", reason: "tcb_below_minimum"),
        .init(label: "measurement", result: Fixtures.result(measurement: ""), rule: "acme-restricted-hardware/allOf[4]/measurement", reason: "measurement_not_allowed"),
        .init(label: "first failure decides", result: Fixtures.result(debug: true, svn: 1), rule: "acme-restricted-hardware/allOf[1]/not", reason: "debug_enabled"),
    ]

    @Test("Decision rule paths and reason codes are the stable strings", arguments: ruleCases)
    func rulePaths(_ c: RuleCase) throws {
        let decision = try Fixtures.decide(try Fixtures.example(), Fixtures.request(c.result))
        #expect(decision.allowed == (c.reason == "granted"))
        #expect(decision.policyID == "acme-restricted-hardware")
        #expect(decision.rule == c.rule)
        #expect(decision.reason == c.reason)
    }

    @Test("The trace records every node with field, operator, expected and actual values; the explanation renders it")
    func traceAndExplanation() throws {
        let decision = try Fixtures.decide(try Fixtures.example(), Fixtures.request(Fixtures.result(debug: true)))
        #expect(decision.trace.count == 10)
        let svn = try #require(decision.trace.first { $0.path == "acme-restricted-hardware/allOf[3]/svn" })
        #expect(svn.field == "svn" && svn.op == ">=" && svn.expected == .number(3) && svn.actual == .number(5) && svn.outcome == .passed)
        let tee = try #require(decision.trace.first { $0.path == "acme-restricted-hardware/hardware-tee/anyOf[0]/tee" })
        #expect(tee.depth == 3 && tee.expected == .list(["snp", "tdx"]) && tee.actual == .string("snp"))
        let lines = decision.explanation.split(separator: "\n").map(String.init)
        #expect(lines.first == "✗ policy acme-restricted-hardware: failed")
        #expect(lines.contains("    ✗ not  [debug_enabled]"))
        #expect(lines.contains("      ✓ debug equals true — actual true"))
        #expect(lines.contains("    ✓ hardware-tee: anyOf"))
        #expect(lines.last == "decision: DENIED by acme-restricted-hardware/allOf[1]/not (debug_enabled)")
        let json = try JSONEncoder().encode(decision)
        #expect(try JSONDecoder().decode(PolicyDecision.self, from: json) == decision)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["policy_id"] as? String == "acme-restricted-hardware")
        #expect(((object["trace"] as? [[String: Any]])?.last?["operator"] as? String) == "exists")
    }
}
