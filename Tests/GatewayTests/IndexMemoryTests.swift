import Foundation
@testable import Gateway
@testable import Retrieval
import SealgateCore
import Testing

/// State the index keeps per tenant and collection does not outlive what it describes (review finding: unbounded
/// growth from change notifications and deleted collections).
@Suite("Tenant index: nothing kept for tenants not served or collections emptied")
struct IndexMemoryTests {
    @Test("A change notification naming a tenant this gateway does not serve is not remembered; a clear forgets the rest")
    func notificationsForOtherTenants() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        for n in 0..<200 { await h.gateway.index.invalidate(tenant: TenantID(unchecked: "stranger-\(n)")) }
        #expect(await h.gateway.index.vectors.invalidated.isEmpty)
        await h.gateway.index.invalidate(tenant: Harness.acme)
        #expect(await h.gateway.index.vectors.invalidated.keys.sorted() == [Harness.acme])
        await h.gateway.index.clear()
        #expect(await h.gateway.index.vectors.invalidated.isEmpty)
    }

    @Test("A collection whose last document is deleted leaves no partition behind")
    func emptiedCollectionDropped() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = await h.ingest("only", "The only document of the collection, about lanterns.")
        #expect(await h.retrieved("lanterns", topK: 1) == ["only"])
        #expect(await h.gateway.index.vectors.tenants[Harness.acme]?.keys.sorted() == [Harness.notes])
        guard case .success = await h.gateway.documents.delete(id: DocumentID(unchecked: "only"), collection: Harness.notes, caller: Harness.caller, requestID: "r1")
        else {
            Issue.record("delete refused")
            return
        }
        #expect(await h.gateway.index.vectors.tenants[Harness.acme]?.isEmpty == true)
        #expect(await h.retrieved("lanterns", topK: 1) == [])
    }
}
