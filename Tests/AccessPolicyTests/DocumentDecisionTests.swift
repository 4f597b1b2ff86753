import AccessPolicy
import SealgateCore
import Testing

@Suite("Access policy: documents and collections")
struct DocumentDecisionTests {
    typealias F = PolicyFixture
    static let notes = CollectionName(unchecked: "notes")

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let grants: Grants
        let request: IngestAccess
        let reason: ReasonCode?
        let rule: RuleID
        var testDescription: String { name }
    }

    static let writer = Grants(read: [], write: ["notes"], dataClasses: ["public", "internal"])

    static let cases: [Case] = [
        Case(
            name: "collection not writable", grants: Grants(read: ["*"], write: ["other"], dataClasses: ["*"]),
            request: IngestAccess(collection: notes, dataClass: "internal", text: "x"), reason: .writeNotPermitted, rule: .principalWrite),
        Case(name: "undefined class", grants: writer, request: IngestAccess(collection: notes, dataClass: "nope", text: "x"), reason: .unknownDataClass, rule: .dataClassDefined),
        Case(
            name: "class not granted", grants: writer, request: IngestAccess(collection: notes, dataClass: "restricted", text: "x"),
            reason: .dataClassNotPermitted, rule: .principalDataClasses),
        Case(name: "blank text", grants: writer, request: IngestAccess(collection: notes, dataClass: "public", text: "\n  "), reason: .emptyDocument, rule: .documentPresent),
        Case(
            name: "text over the limit", grants: writer, request: IngestAccess(collection: notes, dataClass: "public", text: String(repeating: "é", count: 33)),
            reason: .bodyTooLarge, rule: .documentSize),
        Case(
            name: "text at the limit", grants: writer, request: IngestAccess(collection: notes, dataClass: "public", text: String(repeating: "é", count: 32)),
            reason: nil, rule: .principalWrite),
    ]

    @Test("Ingest decisions", arguments: cases)
    func ingest(_ c: Case) {
        switch AccessPolicy(F.table()).decide(c.grants, c.request) {
        case .deny(let denial):
            #expect(denial.reason == c.reason)
            #expect(denial.rule == c.rule)
        case .allow(let dataClass, let rule):
            #expect(c.reason == nil)
            #expect(rule == c.rule)
            #expect(dataClass.rawValue == c.request.dataClass)
        }
    }

    @Test("A remote embedder refuses documents of classes it may not see")
    func remoteEmbedder() {
        let decision = AccessPolicy(F.table(remoteEmbedder: [])).decide(Self.writer, IngestAccess(collection: Self.notes, dataClass: "public", text: "x"))
        #expect(decision.denial?.reason == .modelNotPermitted)
        #expect(decision.denial?.rule.auditName == "retrieval.embedder.allowed_data_classes")
    }

    @Test("Reading and writing a collection are separate grants")
    func collections() {
        let policy = AccessPolicy(F.table())
        let reader = Grants(read: ["notes"], write: [], dataClasses: ["*"])
        #expect(policy.decide(reader, .read(Self.notes)).denial == nil)
        #expect(policy.decide(reader, .write(Self.notes)).denial?.reason == .writeNotPermitted)
        #expect(policy.decide(reader, .read(CollectionName(unchecked: "hr"))).denial?.rule == .principalRead)
        #expect(policy.decide(Self.writer, .write(Self.notes)).denial == nil)
    }

    @Test("Rule names in audit records are the configuration paths; shape checks name none")
    func auditNames() {
        #expect(RuleID.principalRead.auditName == "principals.read")
        #expect(RuleID.principalWrite.auditName == "principals.write")
        #expect(RuleID.principalDataClasses.auditName == "principals.data_classes")
        #expect(RuleID.scopeNamed.auditName == "scope")
        #expect(RuleID.questionPresent.auditName == nil)
        #expect(RuleID.modelDefined.auditName == nil)
    }

    @Test("Models offered to a principal: those of the classes it may use, in class order, once each")
    func offeredModels() {
        let table = F.table()
        #expect(table.models(for: F.everything) == [F.upstream, F.builtin])
        #expect(table.models(for: Grants(read: [], write: [], dataClasses: ["internal"])) == [F.builtin])
        #expect(table.models(for: Grants(read: [], write: [], dataClasses: ["restricted"])).isEmpty)
    }
}
