import Foundation
import Gateway
import KeyBroker
import SealgateCore
import SealgateTestSupport
import Testing

/// Issue #12 defect 2: an ingest acknowledged while the tenant's index was being built from an older snapshot of
/// the store was never retrieved until the next restart (the build's `replace` dropped it).
@Suite("Tenant index: builds racing ingests and deletes")
struct IndexRaceTests {
    @Test("A document stored while an index build reads an older snapshot is retrieved after the build")
    func ingestDuringBuild() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        for n in 0..<20 { _ = await h.ingest("seed-\(n)", "Seed document number \(n) about quarterly planning.") }
        await h.gateway.index.clear()  // as after a restart or a new lease epoch: the next query builds the index
        // Hold the build right after it read the chunks, and ingest the new document meanwhile.
        h.store.onNextChunksRead {
            guard case .success = await h.ingest("late", "The zanzibar-kumquat token lives only in this late document.") else {
                Issue.record("late ingest refused")
                return
            }
        }
        #expect(await h.retrieved("planning") != nil)  // runs the build, which runs the late ingest mid-way
        #expect(await h.retrieved("Where is the zanzibar-kumquat token?", topK: 1) == ["late"])
        #expect(await h.gateway.index.count(tenant: Harness.acme) == 21)
    }

    /// A leased harness with one target document and 10 seeds (11 chunks), and the broker's admin credential.
    static func targetAndSeeds() async throws -> (Harness, AdminCredential) {
        let h = try await Harness.make()
        #expect(await h.lease())
        _ = await h.ingest("target", "The zanzibar-kumquat token lives in the target document.")
        for n in 0..<10 { _ = await h.ingest("seed-\(n)", "Seed document number \(n) about quarterly planning.") }
        let token = try #require(try await h.broker.bootstrapAdmin())
        return (h, try await h.broker.authenticate(token).get())
    }

    @Test("A rotation whose renewal lands while an index build runs: the request builds again under the new keys and answers")
    func keysChangeDuringBuild() async throws {
        let (h, admin) = try await Self.targetAndSeeds()
        defer { Task { await h.close() } }
        await h.gateway.index.clear()
        let epoch = await h.leases.epoch
        // Mid-build: rotate the class's KEK and renew, so the key set (and the lease epoch) changes under the build.
        h.store.onNextChunksRead {
            _ = try? await h.broker.rotate(tenant: "acme", dataClass: "internal", by: admin).get()
            #expect(await h.lease())
        }
        #expect(await h.retrieved("Where is the zanzibar-kumquat token?", topK: 1) == ["target"])
        #expect(await h.leases.epoch > epoch, "the renewal did not change the key set: the test tests nothing")
        #expect(await h.gateway.index.count(tenant: Harness.acme) == 11)
    }

    @Test("A retirement whose renewal lands while an index build opens rows sealed under the retired version: the request builds again and answers")
    func retirementDuringBuild() async throws {
        let (h, admin) = try await Self.targetAndSeeds()
        defer { Task { await h.close() } }
        _ = try await h.broker.rotate(tenant: "acme", dataClass: "internal", by: admin).get()
        #expect(await h.lease())
        await h.gateway.index.clear()
        // Mid-build, after the documents' rows (DEKs under version 1) were read: re-wrap them to version 2, retire 1
        // and renew, so the rows in hand name a version the lease no longer holds.
        h.store.onNextChunksRead {
            #expect(await h.gateway.rewrapDEKs() == 11)
            _ = try? await h.broker.retire(tenant: "acme", dataClass: "internal", version: 1, by: admin).get()
            #expect(await h.lease())
        }
        #expect(await h.retrieved("Where is the zanzibar-kumquat token?", topK: 1) == ["target"])
        #expect(await h.gateway.index.count(tenant: Harness.acme) == 11)
    }

    @Test("A document deleted while an index build reads an older snapshot stays deleted after the build")
    func deleteDuringBuild() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = await h.ingest("doomed", "The zanzibar-kumquat token lives in the doomed document.")
        _ = await h.ingest("other", "Nothing to see here about fruit.")
        await h.gateway.index.clear()
        h.store.onNextChunksRead {
            _ = await h.gateway.documents.delete(id: DocumentID(unchecked: "doomed"), collection: Harness.notes, caller: Harness.caller, requestID: "d")
        }
        #expect(await h.retrieved("zanzibar-kumquat", topK: 1) == ["other"])
        #expect(await h.gateway.index.count(tenant: Harness.acme) == 1)
    }

    @Test("Many ingests interleaved with index rebuilds are all retrievable")
    func concurrentIngestsAndRebuilds() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        for n in 0..<30 { _ = await h.ingest("seed-\(n)", "Seed document \(n) on budget reviews.") }
        let tokens = (0..<24).map { "token\($0)x\(UInt32.random(in: 100_000...999_999))" }
        await withTaskGroup(of: Void.self) { group in
            for (n, token) in tokens.enumerated() {
                group.addTask { _ = await h.ingest("new-\(n)", "Unique marker \(token) appears only here.") }
                if n % 4 == 0 { group.addTask { await h.gateway.index.clear() } }
                group.addTask { _ = await h.retrieved("budget reviews") }
            }
        }
        for (n, token) in tokens.enumerated() {
            #expect(await h.retrieved("marker \(token)", topK: 1) == ["new-\(n)"], "document new-\(n) is not retrievable")
        }
    }
}
