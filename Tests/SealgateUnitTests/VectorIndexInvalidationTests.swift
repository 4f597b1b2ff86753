import Foundation
import Retrieval
import SealgateCore
import Testing

/// Invalidation by another replica's change: the tenant is rebuilt on its next use, and a build that read the
/// store before the change is served once but not kept.
@Suite("Vector index: invalidation from other replicas")
struct VectorIndexInvalidationTests {
    static let acme = TenantID(unchecked: "acme")
    static let globex = TenantID(unchecked: "globex")

    static func entry(_ id: String) -> IndexEntry {
        IndexEntry(
            collection: CollectionName(unchecked: "notes"), documentID: DocumentID(unchecked: id), chunkIndex: 0,
            dataClass: DataClass(unchecked: "internal"), vector: [1, 0, 0, 0])
    }

    @Test("An invalidated tenant is no longer built; other tenants are untouched; a rebuild makes it built again")
    func invalidate() async {
        let index = VectorIndex(dimensions: 4, idfWeighting: false)
        await index.replace(tenant: Self.acme, entries: [Self.entry("a")], epoch: 1)
        await index.replace(tenant: Self.globex, entries: [Self.entry("g")], epoch: 1)
        await index.invalidate(tenant: Self.acme)
        #expect(await !index.isBuilt(tenant: Self.acme, epoch: 1))
        #expect(await index.isBuilt(tenant: Self.globex, epoch: 1))
        await index.replace(tenant: Self.acme, entries: [Self.entry("a"), Self.entry("b")], epoch: 1)
        #expect(await index.isBuilt(tenant: Self.acme, epoch: 1))
        #expect(await index.count(tenant: Self.acme) == 2)
        await index.invalidateAll()
        #expect(await !index.isBuilt(tenant: Self.acme, epoch: 1))
        #expect(await !index.isBuilt(tenant: Self.globex, epoch: 1))
    }

    @Test("A build begun before an invalidation installs its result but leaves the tenant to be rebuilt")
    func buildRacingInvalidation() async {
        let index = VectorIndex(dimensions: 4, idfWeighting: false)
        let early = await index.beginBuild(tenant: Self.acme)
        await index.invalidate(tenant: Self.acme)
        #expect(await index.replace(early, entries: [Self.entry("a")], epoch: 1))
        #expect(await index.count(tenant: Self.acme) == 1)
        #expect(await !index.isBuilt(tenant: Self.acme, epoch: 1))
        let late = await index.beginBuild(tenant: Self.acme)
        #expect(await index.replace(late, entries: [Self.entry("a"), Self.entry("b")], epoch: 1))
        #expect(await index.isBuilt(tenant: Self.acme, epoch: 1))
    }
}
