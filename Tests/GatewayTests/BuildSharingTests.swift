import Foundation
@testable import Gateway
import KeyBroker
import KeyLease
import Retrieval
import SealgateCore
import SealgateTestSupport
import Testing

/// What a tenant index build shares and when its snapshot may be written: one build per tenant and lease epoch
/// however many questions find the index missing at once, and no snapshot sealed for an epoch whose key set was
/// replaced while the write was under way.
@Suite("Tenant index: one build at a time, snapshot writes bound to their epoch")
struct BuildSharingTests {
    @Test("Questions that find the tenant's index missing at once wait for one build: every embedding is read once")
    func oneBuildForABurst() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        for n in 0..<60 { _ = await h.ingest("doc-\(n)", "Document \(n) covers topic \(n % 7) and the item numbered \(n * 13).") }
        #expect(h.store.bulkChunkReads == 0, "nothing built yet")
        let answers = await withTaskGroup(of: [Citation]?.self) { group in
            for q in 0..<8 { group.addTask { await h.citations("topic \(q % 7) item", topK: 3) } }
            var out: [[Citation]?] = []
            for await answer in group { out.append(answer) }
            return out
        }
        #expect(answers.allSatisfy { $0?.count == 3 }, "\(answers)")
        #expect(h.store.bulkChunkReads == 1, "\(h.store.bulkChunkReads) builds read every embedding")
        #expect(await h.gateway.index.count(tenant: Harness.acme) == 60)
    }

    /// The target-and-seeds index built and snapshotted under one epoch, then its class's KEK rotated and the lease
    /// renewed (`beforeRotation` runs first): the harness, the snapshot's key, its sub-index key, the old epoch and
    /// the old epoch's keys.
    static func builtThenRotated(beforeRotation: (Harness) async -> Void = { _ in }) async throws -> (
        h: Harness, key: IndexSnapshotKey, sub: SubIndexKey, oldEpoch: Int, oldKeys: [LeasedKey]
    ) {
        let (h, admin) = try await IndexRaceTests.targetAndSeeds()
        #expect(await h.retrieved("Where is the zanzibar-kumquat token?", topK: 1) == ["target"])
        let key = try #require(h.snapshots.allKeys.first)
        let oldEpoch = h.gateway.keyRing.leases.publishedEpoch
        #expect(await h.gateway.index.vectors.isBuilt(tenant: Harness.acme, epoch: oldEpoch))
        let oldKeys = try #require(await h.gateway.keyRing.keks(Harness.acme, key.dataClass))
        await beforeRotation(h)
        _ = try await h.broker.rotate(tenant: "acme", dataClass: key.dataClass.rawValue, by: admin).get()
        #expect(await h.lease())
        #expect(h.gateway.keyRing.leases.publishedEpoch != oldEpoch)
        return (h, key, SubIndexKey(collection: key.collection, dataClass: key.dataClass), oldEpoch, oldKeys)
    }

    @Test("A snapshot write for an epoch whose key set a renewal has replaced (its clear not yet run) writes nothing")
    func noWriteAfterKeySetChange() async throws {
        // Hold the clear back: the state between LeaseManager.publish() and its onDrop clear.
        let (h, key, sub, epoch, _) = try await Self.builtThenRotated { await $0.leases.setOnDrop {} }
        defer { Task { await h.close() } }
        let before = try #require(try await h.snapshots.snapshot(key))
        #expect(await h.gateway.index.vectors.isBuilt(tenant: Harness.acme, epoch: epoch), "the old index is still installed")
        await h.gateway.index.saveSnapshots(tenant: Harness.acme, keys: [sub], epoch: epoch)
        #expect(try await h.snapshots.snapshot(key) == before, "a sub-index of the old epoch was sealed under the new key set")
        // Under the new epoch's build, the write goes ahead.
        await h.gateway.index.clear()
        #expect(await h.retrieved("Where is the zanzibar-kumquat token?", topK: 1) == ["target"])
        let rebuilt = h.gateway.keyRing.leases.publishedEpoch
        #expect(await h.gateway.index.vectors.isBuilt(tenant: Harness.acme, epoch: rebuilt))
        let current = try #require(try await h.snapshots.snapshot(key))
        await h.gateway.index.saveSnapshots(tenant: Harness.acme, keys: [sub], epoch: rebuilt)
        #expect(try await h.snapshots.snapshot(key) != current, "sealed again (a new snapshot epoch)")
    }

    @Test("A build of a replaced epoch that meets a snapshot sealed under the newer key leaves it alone; with no lease change it is refused")
    func staleBuildMeetsNewerSnapshot() async throws {
        let (h, key, sub, oldEpoch, oldKeys) = try await Self.builtThenRotated()
        defer { Task { await h.close() } }
        // The build under the new keys seals the snapshot under the new KEK version.
        #expect(await h.retrieved("Where is the zanzibar-kumquat token?", topK: 1) == ["target"])
        let sealed = try #require(try await h.snapshots.snapshot(key))
        // A build that began under the old epoch and its keys meets it: no refusal, no event, nothing deleted.
        #expect(await h.gateway.index.openSnapshot(tenant: Harness.acme, key: sub, keys: oldKeys, store: h.snapshots, epoch: oldEpoch) == nil)
        #expect(try await h.snapshots.snapshot(key) == sealed)
        #expect(SnapshotTests.refusals(h).isEmpty)
        // The same keys with no lease change since (a snapshot naming a version nobody leased): refused and reported.
        let current = h.gateway.keyRing.leases.publishedEpoch
        #expect(await h.gateway.index.openSnapshot(tenant: Harness.acme, key: sub, keys: oldKeys, store: h.snapshots, epoch: current) == nil)
        #expect(SnapshotTests.refusals(h) == ["key_not_leased"])
        #expect(try await h.snapshots.snapshot(key) == nil)
    }
}
