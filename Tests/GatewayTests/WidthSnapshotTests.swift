import Foundation
import Gateway
import Retrieval
import SealgateCore
import Testing

/// The hashing embedder's vectors searched as a dense embedder's would be (no IDF weighting): `auto` then measures
/// its search width on the questions (``WidthEvidence``), which the built-in embedder's sub-indexes never do.
struct DenseTestEmbedder: Embedder {
    let hashing = HashingEmbedder(dimensions: 256)
    var identifier: String { "dense-test-256" }
    var wantsIDFWeighting: Bool { false }
    func embed(_ texts: [String]) async throws -> [[Float]] { texts.map(hashing.vector) }
}

/// Issue #17: what `auto` measured about a sub-index's search width is sealed into its snapshot once decided, so a
/// restart searches at the measured width at once instead of at the ladder's widest while it measures again.
@Suite("Tenant index: the measured search width survives a restart")
struct WidthSnapshotTests {
    /// A dense-embedder gateway with 40 documents, built (and snapshotted) by a first question, whose citations are
    /// returned, then quiet for the 2 s after its last write in which no width is measured.
    static func seeded() async throws -> (Harness, [String], [Citation]) {
        let h = try await Harness.make(embedder: DenseTestEmbedder())
        #expect(await h.lease())
        let topics = ["quarterly planning and budget", "the zanzibar kumquat token", "remote work policy", "a server outage report", "lunch menus"]
        for n in 0..<40 { _ = await h.ingest("doc-\(n)", "Document \(n) is about \(topics[n % topics.count]) and item \(n * 7).") }
        let first = try #require(await h.citations("remote work policy", topK: 5))
        try await Task.sleep(for: .milliseconds(2_100))
        return (h, topics, first)
    }

    /// Asks questions until `done` holds (at most `limit` questions, or five minutes on a machine slower than any
    /// seen); whether it did.
    static func ask(_ h: Harness, _ topics: [String], limit: Int, until done: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(300)
        var n = 0
        while ContinuousClock.now < deadline, n < limit {
            if try await done() { return true }
            for _ in 0..<8 {
                n += 1
                _ = await h.citations("\(topics[n % topics.count]) item \(n % 40 * 7)", topK: 5)
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        return try await done()
    }

    @Test("A measured width whose snapshot could not be written is sealed at a later measurement")
    func failedWriteRetried() async throws {
        let (h, topics, _) = try await Self.seeded()
        defer { Task { await h.close() } }
        let key = try #require(h.snapshots.allKeys.first)
        let built = try #require(try await h.snapshots.snapshot(key))
        h.snapshots.failNextSaves(1)
        let decided = try await Self.ask(h, topics, limit: 4_000) {
            await h.gateway.index.searchWidths(tenant: Harness.acme).values.contains(where: \.isDecided)
        }
        #expect(decided, "auto never decided a width")
        // The first write failed; one in 1,024 questions is measured after the warm-up, and that one reports again.
        let resealed = try await Self.ask(h, topics, limit: 6_000) { try await h.snapshots.snapshot(key) != built }
        #expect(resealed, "the width was not sealed after the failed write")
    }

    @Test("Once auto has decided a width the sub-index is sealed again with it; a restart loads the same evidence, decrypting nothing")
    func measuredWidthSealed() async throws {
        let (h, topics, first) = try await Self.seeded()
        defer { Task { await h.close() } }
        let key = try #require(h.snapshots.allKeys.first)
        let built = try #require(try await h.snapshots.snapshot(key))
        #expect(await h.gateway.index.searchWidths(tenant: Harness.acme).values.allSatisfy { !$0.isDecided })

        // Questions until the warm-up has decided a width, then until that sub-index is sealed again.
        let decidedOnce = try await Self.ask(h, topics, limit: 4_000) {
            await h.gateway.index.searchWidths(tenant: Harness.acme).values.contains(where: \.isDecided)
        }
        #expect(decidedOnce, "auto never decided a width")
        let decided = try #require(await h.gateway.index.searchWidths(tenant: Harness.acme).values.first(where: \.isDecided))
        let resealed = try await Self.ask(h, topics, limit: 4_000) { try await h.snapshots.snapshot(key) != built }
        #expect(resealed, "the decided width was never sealed")

        // A restart: loaded from the snapshot (no embedding decrypted), with the evidence, same answers.
        let reads = h.store.bulkChunkReads
        let restarted = h.restarted()
        #expect(await h.citations("remote work policy", topK: 5, through: restarted) == first)
        #expect(h.store.bulkChunkReads == reads)
        let loaded = try #require(await restarted.index.searchWidths(tenant: Harness.acme).values.first)
        #expect(loaded.isDecided)
        #expect(loaded.width == decided.width)
        #expect(loaded.recalls.count == WidthEvidence.steps.count)
        #expect(SnapshotTests.refusals(h).isEmpty)
    }
}
