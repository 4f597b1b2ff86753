import Foundation
import Logging
import PostgresNIO
import SealgateCore
import StoragePostgres
import Testing

/// What only the PostgreSQL backend has: versioned migrations shared by replicas, and a server that can go away.
@Suite("PostgreSQL storage: migrations and an unreachable server", .enabled(if: TestPostgres.present, Comment(rawValue: TestPostgres.absent)))
struct PostgresSchemaTests {
    @Test("Migrations run once; a database migrated by a newer build is refused with a clear error and left as it was")
    func newerSchemaRefused() async throws {
        let url = try await TestPostgres.freshDatabase()
        let storage = try PostgresStorage(url: url, logger: Logger(label: "test"))
        defer { Task { await storage.close() } }
        let store = try await PostgresDocumentStore(storage: storage)
        #expect(try await PostgresDocumentStore.migrations.currentVersion(on: storage) == PostgresDocumentStore.migrations.latest)
        // A second replica starting against the same database applies nothing.
        #expect(try await PostgresDocumentStore.migrations.apply(on: storage) == PostgresDocumentStore.migrations.latest)
        let (document, chunks) = DocumentStoreConformanceTests.document(DocumentStoreConformanceTests.acme, DocumentStoreConformanceTests.notes, "a", chunks: 2)
        try await store.put(document, chunks: chunks)

        // A newer build adds a migration…
        let newer = SchemaMigrations(
            component: "documents",
            migrations: PostgresDocumentStore.migrations.migrations + [["ALTER TABLE documents ADD COLUMN newer_field TEXT"]])
        #expect(try await newer.apply(on: storage) == PostgresDocumentStore.migrations.latest)
        // …and this build, now the older replica, refuses to start against it.
        do {
            _ = try await PostgresDocumentStore(storage: storage)
            Issue.record("an older build opened a newer schema")
        } catch let error as SealgateError {
            #expect(error.code == .storageUnavailable)
            #expect(error.message.contains("newer than this build's \(PostgresDocumentStore.migrations.latest)"))
        }
        #expect(try await PostgresDocumentStore.migrations.currentVersion(on: storage) == newer.latest)
        #expect(try await store.chunks(tenant: document.tenant) == chunks)
    }

    @Test("Two replicas on one database see each other's writes at once")
    func sharedDatabase() async throws {
        let url = try await TestPostgres.freshDatabase()
        let one = try PostgresStorage(url: url, logger: Logger(label: "one"))
        let two = try PostgresStorage(url: url, logger: Logger(label: "two"))
        defer { Task { await one.close(); await two.close() } }
        let (a, b) = try await (PostgresDocumentStore(storage: one), PostgresDocumentStore(storage: two))
        let (document, chunks) = DocumentStoreConformanceTests.document(DocumentStoreConformanceTests.acme, DocumentStoreConformanceTests.notes, "a", chunks: 3)
        try await a.put(document, chunks: chunks)
        #expect(try await b.chunks(tenant: document.tenant) == chunks)
        #expect(try await b.delete(tenant: document.tenant, collection: document.collection, id: document.id))
        #expect(try await a.document(tenant: document.tenant, collection: document.collection, id: document.id) == nil)
    }

    @Test("An unreachable server is storage_unavailable (not a hang), and the message carries no values")
    func unreachable() async throws {
        // A port nothing listens on (the test server's port + 1 is not used by scripts/pg_cluster.sh).
        let storage = try PostgresStorage(url: "postgres://nobody@127.0.0.1:1/sealgate", logger: Logger(label: "test"), deadline: .seconds(2))
        defer { Task { await storage.close() } }
        // No wall-clock bound here (tests assert behaviour, not timing: on the loaded CI machine this took 63 s with a
        // 2 s statement deadline); that the call returns a refusal at all is what is checked.
        do {
            _ = try await PostgresDocumentStore(storage: storage)
            Issue.record("opened a store on a closed port")
        } catch let error as SealgateError {
            #expect(error.code == .storageUnavailable)
            // The operation and the server's SQLSTATE at most: no user, no statement, no values.
            #expect(!error.message.contains("nobody") && !error.message.contains("CREATE") && !error.message.contains("INSERT"))
        }
        #expect(await !storage.ping())
    }

    @Test("URLs that are not PostgreSQL URLs are refused before anything connects")
    func badURLs() {
        for url in ["sqlite:///tmp/x", "postgres://127.0.0.1/db", "postgres://u@127.0.0.1", "postgres://u@h/db?sslmode=verify-full"] {
            #expect(throws: SealgateError.self, "\(url)") { _ = try PostgresStorage(url: url, logger: Logger(label: "test")) }
        }
    }
}
