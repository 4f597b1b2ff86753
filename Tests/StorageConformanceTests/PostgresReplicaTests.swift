import Foundation
import Logging
import SealgateCore
import StoragePostgres
import Synchronization
import Testing

/// What gateway replicas on one database coordinate through: change notifications and job leases.
@Suite("PostgreSQL: change notifications and job leases between replicas", .enabled(if: TestPostgres.present, Comment(rawValue: TestPostgres.absent)))
struct PostgresReplicaTests {
    @Test("A change made through one store is announced to the other with its tenant; a store is not told of its own changes")
    func changeFeed() async throws {
        let url = try await TestPostgres.freshDatabase()
        let (one, two) = (try PostgresStorage(url: url, logger: Logger(label: "one")), try PostgresStorage(url: url, logger: Logger(label: "two")))
        defer { Task { await one.close(); await two.close() } }
        let (a, b) = try await (PostgresDocumentStore(storage: one), PostgresDocumentStore(storage: two))
        let seen = Mutex<[String]>([])
        let (listening, ready) = AsyncStream<Void>.makeStream()
        let follower = Task {
            await b.followChanges(
                onChange: { tenant in seen.withLock { $0.append(tenant.rawValue) } }, onGap: {}, listening: { ready.yield() })
        }
        defer { follower.cancel() }
        for await _ in listening { break }
        let (acme, chunks) = DocumentStoreConformanceTests.document(DocumentStoreConformanceTests.acme, DocumentStoreConformanceTests.notes, "a", chunks: 1)
        let (globex, globexChunks) = DocumentStoreConformanceTests.document(
            DocumentStoreConformanceTests.globex, DocumentStoreConformanceTests.notes, "g", chunks: 1)
        try await b.put(globex, chunks: globexChunks)  // its own: not announced to itself
        try await a.put(acme, chunks: chunks)
        #expect(try await a.delete(tenant: acme.tenant, collection: acme.collection, id: acme.id))
        #expect(try await !a.delete(tenant: acme.tenant, collection: acme.collection, id: acme.id))  // nothing changed: no notice
        let deadline = ContinuousClock.now + .seconds(10)
        while seen.withLock({ $0.count }) < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(seen.withLock { $0 } == ["acme", "acme"])
    }

    @Test("A job lease has one holder at a time; it renews for its holder and passes on only once it lapsed")
    func jobLease() async throws {
        let storage = try PostgresStorage(url: try await TestPostgres.freshDatabase(), logger: Logger(label: "test"))
        defer { Task { await storage.close() } }
        let store = try await PostgresDocumentStore(storage: storage)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(try await store.acquireJob("dek-rewrap", holder: "g1", seconds: 60, now: t0))
        #expect(try await !store.acquireJob("dek-rewrap", holder: "g2", seconds: 60, now: t0.addingTimeInterval(30)))
        #expect(try await store.acquireJob("dek-rewrap", holder: "g1", seconds: 60, now: t0.addingTimeInterval(30)))
        #expect(try await store.acquireJob("other-job", holder: "g2", seconds: 60, now: t0.addingTimeInterval(30)))
        #expect(try await !store.acquireJob("dek-rewrap", holder: "g2", seconds: 60, now: t0.addingTimeInterval(89)))
        #expect(try await store.acquireJob("dek-rewrap", holder: "g2", seconds: 60, now: t0.addingTimeInterval(91)))
        #expect(try await !store.acquireJob("dek-rewrap", holder: "g1", seconds: 60, now: t0.addingTimeInterval(92)))
    }

    @Test("Without a time given, the database server's clock decides, so replicas with skewed clocks agree on a lapse")
    func jobLeaseServerClock() async throws {
        let storage = try PostgresStorage(url: try await TestPostgres.freshDatabase(), logger: Logger(label: "test"))
        defer { Task { await storage.close() } }
        let store = try await PostgresDocumentStore(storage: storage)
        #expect(try await store.acquireJob("dek-rewrap", holder: "g1", seconds: 600))
        #expect(try await !store.acquireJob("dek-rewrap", holder: "g2", seconds: 600))
        #expect(try await store.acquireJob("dek-rewrap", holder: "g1", seconds: 600))
        // The lease was written in the server's epoch seconds: it lapses 600 s from now, not before.
        #expect(try await !store.acquireJob("dek-rewrap", holder: "g2", seconds: 600, now: Date().addingTimeInterval(540)))
        #expect(try await store.acquireJob("dek-rewrap", holder: "g2", seconds: 600, now: Date().addingTimeInterval(660)))
        #expect(try await !store.acquireJob("dek-rewrap", holder: "g1", seconds: 600))
    }
}
