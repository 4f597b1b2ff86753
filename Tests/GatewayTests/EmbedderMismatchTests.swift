import Foundation
import Gateway
import SealgateCore
import SealgateTestSupport
import Testing

/// Issue #16 item 3: an index built with one embedder is never queried with another.
@Suite("Tenant index: one embedder per collection")
struct EmbedderMismatchTests {
    @Test("A gateway with another embedder refuses a query over a collection of the old one (embedder_mismatch, audited, counted) until it is re-ingested")
    func mismatchRefusedUntilReindexed() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        for n in 0..<3 { _ = await h.ingest("doc-\(n)", "Document \(n) is about the zanzibar kumquat token number \(n).") }
        #expect(await h.retrieved("zanzibar kumquat token")?.isEmpty == false)

        let other = h.restarted(dimensions: 512)  // hashing at 512 dimensions: another embedder id
        let request = QueryRequest(question: "zanzibar kumquat token", dataClass: "internal", model: nil, scope: ["notes"])
        guard case .failure(let failure) = await other.pipeline.query(request, caller: Harness.caller, requestID: "req-mismatch") else {
            Issue.record("a query over another embedder's collection was answered")
            return
        }
        #expect(failure.denial.reason == .embedderMismatch)
        #expect(failure.denial.detail.contains("sealgate ingest"))
        let record = try #require(h.audit.all.last)
        #expect(record.kind == .query && record.outcome == .denied && record.reason == "embedder_mismatch")
        #expect(h.metrics.value("sealgate_denials_total{reason=embedder_mismatch,tenant=acme,data_class=internal,route=query}") == 1)

        // Re-ingesting two of the three documents is not enough; the third too clears the refusal.
        for n in 0..<2 { _ = await h.ingest("doc-\(n)", "Document \(n) is about the zanzibar kumquat token number \(n).", through: other) }
        #expect(await h.citations("zanzibar kumquat token", through: other) == nil)
        _ = await h.ingest("doc-2", "Document 2 is about the zanzibar kumquat token number 2.", through: other)
        let ids = try #require(await h.citations("zanzibar kumquat token", through: other)).map(\.documentID.rawValue)
        #expect(Set(ids) == ["doc-0", "doc-1", "doc-2"])
        // A restart of the new gateway finds no foreign document left.
        let again = h.restarted(dimensions: 512)
        #expect(await h.citations("zanzibar kumquat token", through: again)?.isEmpty == false)
    }
}
