import Foundation
import Gateway
import SealgateCore
import SealgateTestSupport
import Testing

/// `retrieval.max_chunks_per_tenant`: one tenant's writer cannot fill the memory every tenant's index needs (review
/// finding: ingestion had no limit but the size of one document).
@Suite("Ingest: the per-tenant chunk limit")
struct ChunkQuotaTests {
    static func text(_ words: Int, _ topic: String) -> String {
        (0..<words).map { "\(topic)\($0 % 97)" }.joined(separator: " ")
    }

    @Test("A document past the tenant's limit is refused before it is embedded, nothing stored; a replacement counts what it replaces; other tenants unaffected")
    func limitPerTenant() async throws {
        // The first document's chunks, measured on a harness without a limit.
        let probe = try await Harness.make()
        #expect(await probe.lease())
        guard case .success(let first) = await probe.ingest("a", Self.text(400, "alpha")) else { throw SealgateError(.internalError, "probe") }
        await probe.close()
        #expect(first.chunks >= 2)

        let h = try await Harness.make(twoTenants: true, maxChunksPerTenant: first.chunks + 1)
        defer { Task { await h.close() } }
        #expect(await h.lease())
        guard case .success = await h.ingest("a", Self.text(400, "alpha")) else {
            Issue.record("the first document was refused")
            return
        }
        guard case .failure(let refused) = await h.ingest("b", Self.text(400, "beta")) else {
            Issue.record("a document past the limit was stored")
            return
        }
        #expect(refused.denial.reason == .quotaExceeded)
        #expect(h.audit.all.last?.rule == "retrieval.max_chunks_per_tenant" && h.audit.all.last?.outcome == .denied)
        #expect(try await h.store.documents(tenant: Harness.acme).map(\.id.rawValue) == ["a"])
        #expect(try await h.store.chunkCount(tenant: Harness.acme) == first.chunks)
        // Replacing "a" (counted as a new document, 2 × its chunks would pass the limit): it counts what it replaces.
        guard case .success(let replaced) = await h.ingest("a", Self.text(400, "alpha")) else {
            Issue.record("a replacement within the limit was refused")
            return
        }
        #expect(replaced.chunks == first.chunks)
        // Another tenant's documents count against its own limit only.
        let other = await h.gateway.documents.ingest(
            IngestRequest(id: DocumentID(unchecked: "g"), title: "g", text: Self.text(400, "delta"), dataClass: "internal"), collection: Harness.notes,
            caller: Harness.globexCaller, requestID: "r-g")
        guard case .success = other else {
            Issue.record("another tenant was refused")
            return
        }
    }
}
