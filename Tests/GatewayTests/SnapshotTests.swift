import Foundation
import Gateway
import KeyBroker
import SealgateCore
import SealgateTestSupport
import Sealing
import Testing

/// Issue #17 item 2: sealed index snapshots are loaded at a restart instead of decrypting every embedding, and a
/// snapshot that does not verify as this tenant's under a leased key is refused, reported and rebuilt.
@Suite("Tenant index: sealed snapshots")
struct SnapshotTests {
    static let questions = ["quarterly planning budget", "zanzibar kumquat token", "remote work policy", "server outage report"]

    /// Ingests a small corpus and runs the questions once (which builds the index and writes its snapshot).
    static func seeded() async throws -> (Harness, [[Citation]]) {
        let h = try await Harness.make()
        #expect(await h.lease())
        let topics = ["quarterly planning and budget", "the zanzibar kumquat token", "remote work policy", "a server outage report", "lunch menus"]
        for n in 0..<40 { _ = await h.ingest("doc-\(n)", "Document \(n) is about \(topics[n % topics.count]) and item \(n * 7).") }
        var answers: [[Citation]] = []
        for q in questions { answers.append(try #require(await h.citations(q, topK: 5))) }
        return (h, answers)
    }

    static func refusals(_ h: Harness) -> [String] {
        h.events.events.withLock { $0 }.filter { $0.type == "dev.sealgate.index.snapshot.refused" }.compactMap { $0.data["reason"] }
    }

    @Test("A restart loads the snapshot: identical results, no embedding decrypted")
    func restartLoadsSnapshot() async throws {
        let (h, answers) = try await Self.seeded()
        defer { Task { await h.close() } }
        #expect(h.snapshots.allKeys.count == 1)
        let reads = h.store.bulkChunkReads
        let restarted = h.restarted()
        for (q, expected) in zip(Self.questions, answers) { #expect(await h.citations(q, topK: 5, through: restarted) == expected) }
        #expect(h.store.bulkChunkReads == reads)
        #expect(await restarted.index.count(tenant: Harness.acme) == 40)
        #expect(Self.refusals(h).isEmpty)
    }

    @Test("A snapshot linked with other graph options (an older release) loads without a refusal, is relinked, and is written again")
    func otherGraphOptions() async throws {
        let (h, answers) = try await Self.seeded()
        defer { Task { await h.close() } }
        let key = try #require(h.snapshots.allKeys.first)
        let old = try #require(try await h.snapshots.snapshot(key))
        let reads = h.store.bulkChunkReads
        let denser = Harness.indexOptions.forIDFWeighting
        let upgraded = h.restarted(indexOptions: denser)
        for (q, expected) in zip(Self.questions, answers) { #expect(await h.citations(q, topK: 5, through: upgraded) == expected) }
        #expect(h.store.bulkChunkReads == reads, "no embedding is decrypted again")
        #expect(Self.refusals(h).isEmpty)
        let rewritten = try #require(try await h.snapshots.snapshot(key))
        #expect(rewritten != old, "the relinked graph is sealed again")
        // The next start finds the current graph: nothing to relink, nothing written.
        let again = h.restarted(indexOptions: denser)
        #expect(await h.citations(Self.questions[0], topK: 5, through: again) == answers[0])
        #expect(try await h.snapshots.snapshot(key) == rewritten)
        #expect(Self.refusals(h).isEmpty)
    }

    @Test("A snapshot behind the store is caught up: documents ingested and deleted since are reflected")
    func staleSnapshotCaughtUp() async throws {
        let (h, _) = try await Self.seeded()
        defer { Task { await h.close() } }
        let key = try #require(h.snapshots.allKeys.first)
        let old = try #require(try await h.snapshots.snapshot(key))
        _ = await h.ingest("late", "The pomegranate-xylophone marker is only here.")
        _ = await h.gateway.documents.delete(id: DocumentID(unchecked: "doc-1"), collection: Harness.notes, caller: Harness.caller, requestID: "d")
        h.snapshots.overwrite(key, with: old)  // replay the older snapshot
        let restarted = h.restarted()
        #expect(await h.citations("pomegranate-xylophone marker", topK: 1, through: restarted)?.map(\.documentID.rawValue) == ["late"])
        #expect(await restarted.index.count(tenant: Harness.acme) == 40)
        let all = await h.citations("zanzibar kumquat token", topK: 40, through: restarted) ?? []
        #expect(!all.contains { $0.documentID.rawValue == "doc-1" })
    }

    @Test("Tampered, truncated and foreign snapshots are refused with a reason and an event, and rebuilt", arguments: ["tampered", "truncated", "moved"])
    func refusedAndRebuilt(_ damage: String) async throws {
        let (h, answers) = try await Self.seeded()
        defer { Task { await h.close() } }
        let key = try #require(h.snapshots.allKeys.first)
        var bytes = try #require(try await h.snapshots.snapshot(key))
        switch damage {
        case "tampered": bytes[bytes.count / 2] ^= 0x01
        case "truncated": bytes = bytes.prefix(bytes.count - 100)
        default:
            // Another collection's snapshot under this key: its binding names the other collection.
            _ = await h.gateway.documents.ingest(
                IngestRequest(id: DocumentID(unchecked: "x"), title: "x", text: "Other collection text.", dataClass: "internal"),
                collection: CollectionName(unchecked: "other"), caller: Harness.caller, requestID: "i")
            await h.gateway.index.clear()
            let scope = QueryRequest(question: "other", dataClass: "internal", model: nil, scope: ["other", "notes"], topK: 1)
            _ = await h.gateway.pipeline.query(scope, caller: Harness.caller, requestID: "q")
            let other = try #require(h.snapshots.allKeys.first { $0.collection.rawValue == "other" })
            bytes = try #require(try await h.snapshots.snapshot(other))
        }
        h.snapshots.overwrite(key, with: bytes)
        let reads = h.store.bulkChunkReads
        let restarted = h.restarted()
        for (q, expected) in zip(Self.questions, answers) { #expect(await h.citations(q, topK: 5, through: restarted) == expected) }
        if damage != "moved" { #expect(h.store.bulkChunkReads > reads) }  // rebuilt from the store
        #expect(await restarted.index.count(tenant: Harness.acme) == (damage == "moved" ? 41 : 40))
        let reasons = Self.refusals(h)
        #expect(reasons.count == 1)
        #expect(reasons.first == (damage == "moved" ? "foreign_binding" : "authentication_failed"))
        // The rebuild wrote a fresh snapshot, which the next restart loads.
        let again = h.restarted()
        let readsBefore = h.store.bulkChunkReads
        #expect(await h.citations(Self.questions[0], topK: 5, through: again) == answers[0])
        #expect(h.store.bulkChunkReads == readsBefore)
        #expect(Self.refusals(h).count == 1)
    }

    @Test("Another tenant's snapshot under this tenant's key is refused; no chunk of the other tenant is returned")
    func foreignTenant() async throws {
        let h = try await Harness.make(twoTenants: true)
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = await h.ingest("acme-secret", "The acme merger codename is bluebird.")
        _ = await h.gateway.documents.ingest(
            IngestRequest(id: DocumentID(unchecked: "globex-doc"), title: "g", text: "Globex cafeteria opens at noon.", dataClass: "internal"),
            collection: Harness.notes, caller: Harness.globexCaller, requestID: "i")
        #expect(await h.citations("merger codename", topK: 3)?.map(\.documentID.rawValue) == ["acme-secret"])
        #expect(await h.citations("cafeteria", topK: 3, caller: Harness.globexCaller)?.map(\.documentID.rawValue) == ["globex-doc"])
        let acmeKey = try #require(h.snapshots.allKeys.first { $0.tenant == Harness.acme })
        let globexKey = try #require(h.snapshots.allKeys.first { $0.tenant == Harness.globex })
        let acmeBytes = try await h.snapshots.snapshot(acmeKey)
        h.snapshots.overwrite(globexKey, with: try #require(acmeBytes))
        let restarted = h.restarted()
        let hits = await h.citations("merger codename bluebird", topK: 5, through: restarted, caller: Harness.globexCaller) ?? []
        #expect(!hits.contains { $0.documentID.rawValue == "acme-secret" })
        #expect(Self.refusals(h) == ["foreign_binding"])
    }

    @Test("Rotation re-wraps snapshots; a snapshot left under a retired KEK version is refused and rebuilt")
    func rotationAndRetiredKey() async throws {
        let (h, answers) = try await Self.seeded()
        defer { Task { await h.close() } }
        let key = try #require(h.snapshots.allKeys.first)
        let underV1 = try #require(try await h.snapshots.snapshot(key))
        let token = try #require(try await h.broker.bootstrapAdmin())
        let admin = try await h.broker.authenticate(token).get()
        _ = try await h.broker.rotate(tenant: "acme", dataClass: "internal", by: admin).get()
        #expect(await h.lease())
        #expect(await h.gateway.rewrapDEKs() == 40)
        let rewrapped = try #require(try await h.snapshots.snapshot(key))
        #expect(rewrapped != underV1)
        _ = try await h.broker.retire(tenant: "acme", dataClass: "internal", version: 1, by: admin).get()
        #expect(await h.lease())
        // The re-wrapped snapshot opens under version 2 alone.
        let restarted = h.restarted()
        let reads = h.store.bulkChunkReads
        #expect(await h.citations(Self.questions[1], topK: 5, through: restarted) == answers[1])
        #expect(h.store.bulkChunkReads == reads)
        #expect(Self.refusals(h).isEmpty)
        // The copy still wrapped under version 1 (now retired) is refused and rebuilt.
        h.snapshots.overwrite(key, with: underV1)
        let again = h.restarted()
        #expect(await h.citations(Self.questions[1], topK: 5, through: again) == answers[1])
        #expect(h.store.bulkChunkReads > reads)
        #expect(Self.refusals(h) == ["key_not_leased"])
    }

    @Test("A snapshot written while the re-wrap holds an older copy of it is not replaced by that copy")
    func rewrapMeetsNewerWrite() async throws {
        let (h, _) = try await Self.seeded()
        defer { Task { await h.close() } }
        let key = try #require(h.snapshots.allKeys.first)
        let first = try IndexSnapshotSeal.binding(of: try #require(try await h.snapshots.snapshot(key)))
        let token = try #require(try await h.broker.bootstrapAdmin())
        let admin = try await h.broker.authenticate(token).get()
        _ = try await h.broker.rotate(tenant: "acme", dataClass: "internal", by: admin).get()
        #expect(await h.lease())
        // A document the snapshot lacks: the next build loads the snapshot, adds it and writes a newer one under v2.
        _ = try await h.ingest("doc-late", "A late document about the zanzibar kumquat token and item 999.").get()

        // The re-wrap has read the snapshot under v1 when the build's write comes.
        let hold = h.snapshots.holdNextRead()
        let rewrap = Task { await h.gateway.index.rewrapSnapshots() }
        await hold.reached()
        let saves = h.snapshots.saves
        let asked = Task { await h.citations("zanzibar kumquat token item 999", topK: 5) }
        // Without the key's lock the build's write lands now; with it, the build waits for the re-wrap.
        let deadline = ContinuousClock.now + .seconds(2)
        while h.snapshots.saves == saves, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        hold.release()
        #expect(await rewrap.value == 1)
        #expect(try #require(await asked.value).contains { $0.documentID.rawValue == "doc-late" })
        let stored = try IndexSnapshotSeal.binding(of: try #require(try await h.snapshots.snapshot(key)))
        #expect(stored.epoch > first.epoch && stored.dekVersion == 2, "the re-wrapped older snapshot replaced the build's: \(stored)")
    }
}
