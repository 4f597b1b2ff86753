import Foundation
import Gateway
import KeyBroker
import SealgateCore
import SealgateTestSupport
import Synchronization
import Testing

/// Issue #19 item 2: the DEK re-wrap after a rotation is audited and counted per batch, and a replica that loses the
/// `dek-rewrap` job lease (the `proceed` answer) stops within a batch and leaves the rest to the next holder.
@Suite("DEK re-wrap: batches and the job lease")
struct RewrapTests {
    /// A harness with `documents` internal documents under KEK v1, after a rotation to v2 and a lease holding both.
    static func rotated(documents: Int) async throws -> Harness {
        let h = try await Harness.make()
        #expect(await h.lease())
        for n in 0..<documents { _ = await h.ingest("doc-\(n)", "Document \(n) is about item \(n * 7).") }
        let token = try #require(try await h.broker.bootstrapAdmin())
        let admin = try await h.broker.authenticate(token).get()
        _ = try await h.broker.rotate(tenant: "acme", dataClass: "internal", by: admin).get()
        #expect(await h.lease())
        return h
    }

    static func rewrapRecords(_ h: Harness) -> [AuditRecord] { h.audit.all.filter { $0.kind == .rewrap } }

    static func versions(_ h: Harness) async throws -> [Int] { try await h.store.documents(tenant: Harness.acme).map(\.dekVersion) }

    static let metric = "sealgate_dek_rewraps_total{tenant=acme}"

    @Test("Every DEK moves once; one audit record and one count per batch of at most rewrapBatch documents")
    func batches() async throws {
        let count = KeyRing.rewrapBatch * 2 + 3
        let h = try await Self.rotated(documents: count)
        defer { Task { await h.close() } }
        #expect(try await Self.versions(h).allSatisfy { $0 == 1 })
        #expect(await h.gateway.rewrapDEKs() == count)
        let records = Self.rewrapRecords(h)
        #expect(records.map(\.chunkCount) == [KeyRing.rewrapBatch, KeyRing.rewrapBatch, 3])
        #expect(records.allSatisfy { $0.keyIDs == ["acme/kek/internal#1", "acme/kek/internal#2"] && $0.rule == "lease.rewrap" })
        #expect(h.metrics.value(Self.metric) == count)
        #expect(try await Self.versions(h).allSatisfy { $0 == 2 })
        // The same keys again: nothing runs, nothing is recorded.
        #expect(await h.gateway.rewrapDEKs() == 0)
        #expect(Self.rewrapRecords(h).count == 3)
        #expect(await h.retrieved("item 7", topK: 3)?.isEmpty == false)
    }

    @Test("A replica that loses the job lease stops after the batch in hand; the run is finished later, nothing twice")
    func stopsWhenLeaseLost() async throws {
        let count = KeyRing.rewrapBatch + 10
        let h = try await Self.rotated(documents: count)
        defer { Task { await h.close() } }
        let hold = JobHold(asks: 1)  // held when asked before the first batch, lost when asked after it
        #expect(await h.gateway.rewrapDEKs(proceed: { hold.ask() }) == KeyRing.rewrapBatch)
        #expect(try await Self.versions(h).filter { $0 == 1 }.count == 10)
        #expect(await h.gateway.rewrapDEKs() == 10)
        #expect(try await Self.versions(h).allSatisfy { $0 == 2 })
        #expect(Self.rewrapRecords(h).map(\.chunkCount) == [KeyRing.rewrapBatch, 10])
        #expect(h.metrics.value(Self.metric) == count)
    }

    @Test("Without the job lease nothing is re-wrapped or recorded; with it, everything")
    func withoutLease() async throws {
        let h = try await Self.rotated(documents: 5)
        defer { Task { await h.close() } }
        #expect(await h.gateway.rewrapDEKs(proceed: { false }) == 0)
        #expect(Self.rewrapRecords(h).isEmpty && h.metrics.value(Self.metric) == 0)
        #expect(try await Self.versions(h).allSatisfy { $0 == 1 })
        #expect(await h.gateway.rewrapDEKs() == 5)
    }
}

/// Documents written under the older version after a pass listed the documents (review finding: the pass ran once
/// per key set, so such a document stayed under the older version, and retiring it lost the document).
@Suite("DEK re-wrap: documents written under the older version after the pass")
struct LateRewrapTests {
    @Test("A document written under v1 after the pass (a replica whose lease lagged) is moved by the next pass under the same keys")
    func laterPassMovesLateWrite() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = await h.ingest("early", "The early document is about item one.")
        _ = await h.ingest("late", "The late document is about the zanzibar kumquat.")
        // What a lagging replica writes after the pass: the row as written under v1.
        let row = try #require(try await h.store.document(tenant: Harness.acme, collection: Harness.notes, id: DocumentID(unchecked: "late")))
        let chunks = try await h.store.chunks(tenant: Harness.acme, collection: Harness.notes, documentID: row.id)
        let token = try #require(try await h.broker.bootstrapAdmin())
        let admin = try await h.broker.authenticate(token).get()
        _ = try await h.broker.rotate(tenant: "acme", dataClass: "internal", by: admin).get()
        #expect(await h.lease())
        #expect(await h.gateway.rewrapDEKs() == 2)
        try await h.store.put(row, chunks: chunks)
        #expect(try await RewrapTests.versions(h).sorted() == [1, 2])
        #expect(await h.gateway.rewrapDEKs() == 1, "the next pass under the same keys moves it")
        #expect(try await RewrapTests.versions(h) == [2, 2])
        _ = try await h.broker.retire(tenant: "acme", dataClass: "internal", version: 1, by: admin).get()
        #expect(await h.lease())
        #expect(await h.retrieved("zanzibar kumquat", topK: 1) == ["late"])
        // The query's record names the version the DEK was opened under, not the one the content was sealed under.
        #expect(h.audit.all.last { $0.kind == .query }?.keyIDs == ["acme/kek/internal#2"])
    }

    /// A leased harness whose next ingest runs `change` while its text is embedded (its key chosen, nothing sealed
    /// yet), with the broker, an admin, a lease renewal and the document store.
    static func keysChangedWhileEmbedding(
        _ change: @escaping @Sendable (KeyBroker, AdminCredential, @Sendable () async -> Void, InMemoryDocumentStore) async -> Void
    ) async throws -> Harness {
        let embedder = ClearDuringQueryTests.HookedEmbedder()
        let h = try await Harness.make(embedder: embedder)
        #expect(await h.lease())
        let token = try #require(try await h.broker.bootstrapAdmin())
        let admin = try await h.broker.authenticate(token).get()
        let (broker, leases, store) = (h.broker, h.leases, h.store)
        let (resources, secrets) = (h.gateway.keyRing.resources, h.gateway.keyRing.secretResources)
        let renew: @Sendable () async -> Void = { _ = await leases.acquire(resources: resources, secrets: secrets) }
        embedder.hook.withLock { $0 = { await change(broker, admin, renew, store) } }
        return h
    }

    @Test("An ingest whose key was retired while it ran and whose document could not be moved is refused, not answered 201")
    func unmovableIngestRefused() async throws {
        let h = try await Self.keysChangedWhileEmbedding { broker, admin, renew, store in
            _ = await broker.rotate(tenant: "acme", dataClass: "internal", by: admin)
            _ = await broker.retire(tenant: "acme", dataClass: "internal", version: 1, by: admin)
            await renew()
            store.rewrapFails.withLock { $0 = true }
        }
        defer { Task { await h.close() } }
        guard case .failure(let failure) = await h.ingest("lost", "A document whose key went away while it was sealed.") else {
            Issue.record("an ingest no key can open was answered as stored")
            return
        }
        #expect(failure.denial.reason == .releaseDenied, "\(failure.denial.reason)")
        #expect(h.audit.all.last?.outcome == .denied)
    }

    @Test("An ingest that chose v1 before a renewal brought v2 (and retired v1) moves its own document: stored, answered, audited")
    func ingestAcrossRenewal() async throws {
        let h = try await Self.keysChangedWhileEmbedding { broker, admin, renew, _ in
            _ = await broker.rotate(tenant: "acme", dataClass: "internal", by: admin)
            await renew()
            _ = await broker.retire(tenant: "acme", dataClass: "internal", version: 1, by: admin)
            await renew()
        }
        defer { Task { await h.close() } }
        guard case .success(let result) = await h.ingest("straddle", "The straddling document names the quince-harbour token.") else {
            Issue.record("ingest refused")
            return
        }
        #expect(result.kekVersion == 1, "the content is sealed under v1; its DEK moved")
        #expect(try await RewrapTests.versions(h) == [2])
        #expect(await h.retrieved("quince-harbour token", topK: 1) == ["straddle"])
        #expect(RewrapTests.rewrapRecords(h).last?.keyIDs == ["acme/kek/internal#1", "acme/kek/internal#2"])
    }
}

/// A job lease held for a number of asks, then lost.
final class JobHold: Sendable {
    let left: Mutex<Int>
    init(asks: Int) { left = Mutex(asks) }
    func ask() -> Bool {
        left.withLock {
            $0 -= 1
            return $0 >= 0
        }
    }
}
