import Foundation
@testable import Gateway
import Retrieval
import SealgateCore
import Synchronization
import Testing

/// A renewal that changes the key set (a rotation, a retirement, a new class) clears every tenant index. A question
/// that had made sure of its index and was embedding its text when that clear landed searched nothing and was
/// answered without context, as if nothing matched (a flaky `BrokerProcessTests` run: a query right after a
/// retirement found no passages).
@Suite("Tenant index: a question whose index is cleared mid-way builds it again")
struct ClearDuringQueryTests {
    /// The built-in embedder, with a hook run once while the next question is embedded (between the pipeline's
    /// `ensure` and its search).
    final class HookedEmbedder: Embedder {
        let base = HashingEmbedder(dimensions: 256)
        let hook = Mutex<(@Sendable () async -> Void)?>(nil)
        var identifier: String { base.identifier }
        var wantsIDFWeighting: Bool { base.wantsIDFWeighting }

        func embed(_ texts: [String]) async throws -> [[Float]] {
            if let run = hook.withLock({ hook -> (@Sendable () async -> Void)? in
                defer { hook = nil }
                return hook
            }) {
                await run()
            }
            return try await base.embed(texts)
        }
    }

    @Test("The index cleared while a question is embedded: the question still gets its passage, built again")
    func clearedBetweenEnsureAndSearch() async throws {
        let embedder = HookedEmbedder()
        let h = try await Harness.make(embedder: embedder)
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = await h.ingest("fares", "The travel portal books economy fares for trips under six hours.")
        _ = await h.ingest("badges", "Visitor badges are collected at the front desk before noon.")
        #expect(await h.retrieved("Which portal books travel fares?", topK: 1) == ["fares"])
        let gateway = h.gateway
        embedder.hook.withLock { $0 = { await gateway.index.clear() } }
        #expect(await h.retrieved("Which portal books travel fares?", topK: 1) == ["fares"])
        #expect(embedder.hook.withLock { $0 == nil }, "the clear ran during the question")
        #expect(await gateway.index.count(tenant: Harness.acme) == 2)
    }

    @Test("A tenant index never installed is told apart from an empty one")
    func notInstalledIsNotEmpty() async throws {
        let index = VectorIndex(dimensions: 4, idfWeighting: false)
        let tenant = TenantID(unchecked: "acme")
        let ask = { try await index.searchInstalled(
            tenant: tenant, collections: [CollectionName(unchecked: "c")], classes: [DataClass(unchecked: "internal")], query: [1, 0, 0, 0], topK: 3,
            vectors: { refs in refs.map { _ in nil } }) }
        #expect(try await ask() == nil)
        await index.replace(tenant: tenant, entries: [], epoch: 1)
        #expect(try await ask() == [])
        await index.clear()
        #expect(try await ask() == nil)
    }
}
