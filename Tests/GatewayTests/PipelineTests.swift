import AccessPolicy
import Foundation
import Gateway
import SealgateCore
import SealgateTestSupport
import Testing

@Suite("Gateway pipeline without HTTP")
struct PipelineTests {
    @Test("An ingested document is retrieved, and the ingest and query are recorded with the rules that allowed them")
    func ingestAndQuery() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        guard case .success = await h.ingest("garage", "Visitors park on level two of the east garage.") else {
            Issue.record("ingest refused")
            return
        }
        _ = await h.ingest("mail", "The mail room closes at five in the afternoon.")
        #expect(await h.retrieved("Where do visitors park in the garage?", topK: 1) == ["garage"])
        let records = h.audit.all
        #expect(records.map(\.kind) == [.ingest, .ingest, .query])
        #expect(records.map(\.outcome) == [.allowed, .allowed, .allowed])
        #expect(records[0].rule == "principals.write")
        #expect(records[2].rule == "data_classes.internal.models")
        #expect(records.allSatisfy { $0.policyDigest != nil })
        #expect(h.metrics.value("sealgate_requests_total{route=query,outcome=allowed}") == 1)
    }

    @Test("A chunk's embedding input is its document's title, whitespace collapsed and cut, then the chunk")
    func chunkHeader() {
        #expect(DocumentService.embeddingInput(title: "Parking rules", chunk: "Level 2 only.") == "Parking rules\n\nLevel 2 only.")
        #expect(DocumentService.embeddingInput(title: "  Parking\n\trules  ", chunk: "Level 2 only.") == "Parking rules\n\nLevel 2 only.")
        #expect(DocumentService.embeddingInput(title: "", chunk: "Level 2 only.") == "Level 2 only.")
        #expect(DocumentService.embeddingInput(title: " \n ", chunk: "Level 2 only.") == "Level 2 only.")
        let long = String(repeating: "é", count: 500)
        #expect(
            DocumentService.embeddingInput(title: long, chunk: "tail")
                == String(repeating: "é", count: DocumentService.headerCharacters) + "\n\ntail")
    }

    @Test("A policy refusal is one value with one trace each: audit record, labelled metric")
    func refusalRecorded() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        let request = QueryRequest(question: "q", dataClass: "internal", model: nil, scope: ["notes"])
        let reader = Caller(principal: Harness.caller.principal, grants: Grants(read: ["other"], write: [], dataClasses: ["*"]))
        guard case .failure(let failure) = await h.gateway.pipeline.query(request, caller: reader, requestID: "req-1") else {
            Issue.record("allowed")
            return
        }
        #expect(failure.denial.reason == .scopeNotPermitted)
        #expect(failure.auditIndex == 0)
        let record = try #require(h.audit.all.first)
        #expect(record.kind == .query && record.outcome == .denied && record.reason == "scope_not_permitted")
        #expect(record.rule == "principals.read")
        #expect(record.requestID == "req-1")
        #expect(h.metrics.value("sealgate_denials_total{reason=scope_not_permitted,tenant=acme,data_class=internal,route=query}") == 1)
    }

    @Test("Without a lease every stage that needs keys refuses with the lease's reason, and nothing is stored")
    func noLease() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        guard case .failure(let failure) = await h.ingest("x", "text") else {
            Issue.record("ingested without a lease")
            return
        }
        #expect(failure.denial.reason == .keyLeaseUnavailable)
        #expect(try await h.store.documents(tenant: Harness.acme).isEmpty)
        guard case .failure(let listed) = await h.gateway.documents.list(collection: Harness.notes, caller: Harness.caller, requestID: "r") else {
            Issue.record("listed without a lease")
            return
        }
        #expect(listed.denial.reason == failure.denial.reason)
    }

    @Test("An audit log that refuses appends refuses the request: no answer and no stored document without a record")
    func auditUnavailable() async throws {
        let h = try await Harness.make(audit: RecordingAuditSink(failing: true))
        defer { Task { await h.close() } }
        #expect(await h.lease())
        guard case .failure(let failure) = await h.ingest("x", "Some text.") else {
            Issue.record("ingested without an audit record")
            return
        }
        #expect(failure.denial.reason == .auditUnavailable)
        #expect(try await h.store.documents(tenant: Harness.acme).isEmpty)
    }

    @Test("Deleting a document removes it from retrieval at once")
    func delete() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = await h.ingest("garage", "Visitors park on level two of the east garage.")
        #expect(await h.retrieved("garage") == ["garage"])
        guard case .success = await h.gateway.documents.delete(id: DocumentID(unchecked: "garage"), collection: Harness.notes, caller: Harness.caller, requestID: "d")
        else {
            Issue.record("delete refused")
            return
        }
        #expect(await h.retrieved("garage") == [])
    }
}
