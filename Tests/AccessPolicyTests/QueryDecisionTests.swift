import AccessPolicy
import SealgateCore
import Testing

/// A three-class policy: public ⊂ internal ⊂ restricted; `builtin` serves every class, `upstream` only public.
enum PolicyFixture {
    static let publicClass = DataClass(unchecked: "public")
    static let internalClass = DataClass(unchecked: "internal")
    static let restricted = DataClass(unchecked: "restricted")
    static let builtin = ModelProfileID(unchecked: "builtin")
    static let upstream = ModelProfileID(unchecked: "upstream")
    static let principal = Principal(tenant: TenantID(unchecked: "acme"), id: PrincipalID(unchecked: "app"))

    static func table(remoteEmbedder: Set<DataClass>? = nil, served: Set<ModelProfileID> = [builtin, upstream]) -> PolicyTable {
        PolicyTable(
            classes: [
                ClassRule(name: publicClass, models: [upstream, builtin], redactionProfile: "basic"),
                ClassRule(name: internalClass, models: [builtin], redactionProfile: "all"),
                ClassRule(name: restricted, models: [], redactionProfile: "all"),
            ],
            models: served, defaultTopK: 5, maxDocumentBytes: 64, remoteEmbedderClasses: remoteEmbedder)
    }

    static let everything = Grants(read: ["*"], write: ["*"], dataClasses: ["*"])

    static func query(
        _ question: String = "Where is the garage?", dataClass: String? = "internal", model: String? = nil, scope: [String] = ["notes"],
        topK: Int? = nil
    ) -> QueryAccess {
        QueryAccess(requestID: "r1", principal: principal, question: question, dataClass: dataClass, model: model, scope: scope, topK: topK)
    }
}

@Suite("Access policy: questions")
struct QueryDecisionTests {
    typealias F = PolicyFixture

    struct Refused: Sendable, CustomTestStringConvertible {
        let name: String
        let grants: Grants
        let request: QueryAccess
        let reason: ReasonCode
        let rule: RuleID
        var testDescription: String { name }
    }

    static let refusals: [Refused] = [
        Refused(name: "empty question", grants: F.everything, request: F.query(" \n\t "), reason: .emptyQuestion, rule: .questionPresent),
        Refused(name: "no data class", grants: F.everything, request: F.query(dataClass: nil), reason: .unknownDataClass, rule: .dataClassDefined),
        Refused(name: "undefined class", grants: F.everything, request: F.query(dataClass: "secret"), reason: .unknownDataClass, rule: .dataClassDefined),
        Refused(name: "malformed class", grants: F.everything, request: F.query(dataClass: "in ternal"), reason: .unknownDataClass, rule: .dataClassDefined),
        Refused(
            name: "class not granted", grants: Grants(read: ["*"], write: [], dataClasses: ["public"]), request: F.query(),
            reason: .dataClassNotPermitted, rule: .principalDataClasses),
        Refused(name: "undefined model", grants: F.everything, request: F.query(model: "gpt-x"), reason: .unknownModelProfile, rule: .modelDefined),
        Refused(
            name: "model not allowed at class", grants: F.everything, request: F.query(model: "upstream"), reason: .modelNotPermitted,
            rule: .dataClassModels(F.internalClass)),
        Refused(
            name: "class no model may see", grants: F.everything, request: F.query(dataClass: "restricted"), reason: .modelNotPermitted,
            rule: .dataClassModels(F.restricted)),
        Refused(name: "empty scope", grants: F.everything, request: F.query(scope: []), reason: .scopeNotPermitted, rule: .scopeNamed),
        Refused(
            name: "collection not granted", grants: Grants(read: ["notes"], write: [], dataClasses: ["*"]), request: F.query(scope: ["notes", "hr"]),
            reason: .scopeNotPermitted, rule: .principalRead),
        Refused(
            name: "malformed collection", grants: F.everything, request: F.query(scope: ["../etc"]), reason: .scopeNotPermitted,
            rule: .principalRead),
    ]

    @Test("Each rule refuses with its reason code and rule", arguments: refusals)
    func refused(_ case_: Refused) {
        let decision = AccessPolicy(F.table()).decide(case_.grants, case_.request)
        #expect(decision.denial?.reason == case_.reason)
        #expect(decision.denial?.rule == case_.rule)
    }

    @Test("A model that is configured but not served is undefined")
    func unservedModel() {
        let decision = AccessPolicy(F.table(served: [F.upstream])).decide(F.everything, F.query(model: "builtin"))
        #expect(decision.denial == PolicyDenial(.unknownModelProfile, .modelDefined, "The model profile is not defined."))
    }

    @Test("A remote embedder may not see a class it is not allowed, even when everything else is allowed")
    func remoteEmbedder() {
        let policy = AccessPolicy(F.table(remoteEmbedder: [F.publicClass]))
        #expect(policy.decide(F.everything, F.query()).denial?.rule == .embedderClasses)
        #expect(policy.decide(F.everything, F.query(dataClass: "public")).denial == nil)
    }

    @Test("An allowed question names its context, the readable classes and the rule that allowed it")
    func allowed() throws {
        let grants = Grants(read: ["notes", "hr"], write: [], dataClasses: ["public", "internal"])
        let decision = AccessPolicy(F.table()).decide(grants, F.query(scope: [" notes", "hr", "notes"], topK: 500))
        guard case .allow(let grant, let rule) = decision else {
            Issue.record("refused: \(String(describing: decision.denial))")
            return
        }
        #expect(rule == .dataClassModels(F.internalClass))
        #expect(rule.auditName == "data_classes.internal.models")
        #expect(grant.context.model == F.builtin)
        #expect(grant.context.dataClass == F.internalClass)
        #expect(grant.context.scope.collections.map(\.rawValue) == ["hr", "notes"])
        #expect(grant.readableClasses == [F.publicClass, F.internalClass])
        #expect(grant.topK == 50)
        #expect(grant.classRule.redactionProfile == "all")
    }

    @Test("Readable classes stop at the request's class and skip classes the principal lacks")
    func readableClasses() {
        let grants = Grants(read: ["*"], write: [], dataClasses: ["internal"])
        guard case .allow(let grant, _) = AccessPolicy(F.table()).decide(grants, F.query(topK: 0)) else {
            Issue.record("refused")
            return
        }
        #expect(grant.readableClasses == [F.internalClass])
        #expect(grant.topK == 1)
    }

    @Test("The default model of a class is its first, and the default top-k is the table's")
    func defaults() {
        guard case .allow(let grant, _) = AccessPolicy(F.table()).decide(F.everything, F.query(dataClass: "public")) else {
            Issue.record("refused")
            return
        }
        #expect(grant.context.model == F.upstream)
        #expect(grant.topK == 5)
    }
}
