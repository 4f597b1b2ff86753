import Foundation
import KeyBroker
import Logging
import PostgresNIO
import SealgateCore
import StoragePostgres
import StorageSQLite
import Testing

/// The PostgreSQL server the tests use: `SEALGATE_TEST_POSTGRES_URL` (`.ci/run` starts a throwaway cluster with
/// `scripts/pg_cluster.sh` and exports it). Every test gets a database of its own, created on that server.
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["SEALGATE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static var present: Bool { url != nil }
    static let absent =
        "SEALGATE_TEST_POSTGRES_URL is not set: the PostgreSQL backend is NOT tested (start one with scripts/pg_cluster.sh start DIR PORT)"

    /// Creates an empty database on the test server; returns its URL.
    static func freshDatabase() async throws -> String {
        guard let url, var components = URLComponents(string: url) else { throw SealgateError(.storageUnavailable, absent) }
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = try PostgresStorage(url: url, logger: Logger(label: "test"), deadline: .seconds(30))
        defer { Task { await admin.close() } }
        _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), "create database")
        await admin.close()
        components.path = "/" + name
        return components.string ?? url
    }
}

/// One storage backend under test.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    /// SQLite always; PostgreSQL when a server is given.
    static var enabled: [Backend] { TestPostgres.present ? allCases : [.sqlite] }

    var testDescription: String { rawValue }

    /// A fresh, empty document store of this backend and its closer.
    func documentStore() async throws -> (any DocumentStore & IndexSnapshotStore, @Sendable () async -> Void) {
        switch self {
        case .sqlite:
            let store = try await SQLiteDocumentStore(path: Self.temporaryFile("documents.sqlite"), logger: Logger(label: "test"))
            return (store, { await store.close() })
        case .postgres:
            let storage = try PostgresStorage(url: try await TestPostgres.freshDatabase(), logger: Logger(label: "test"))
            return (try await PostgresDocumentStore(storage: storage), { await storage.close() })
        }
    }

    /// A fresh, empty broker store of this backend and its closer.
    func brokerStore() async throws -> (any BrokerStore, @Sendable () async -> Void) {
        switch self {
        case .sqlite:
            let store = try await SQLiteBrokerStore(path: Self.temporaryFile("broker.sqlite"), logger: Logger(label: "test"))
            return (store, { await store.close() })
        case .postgres:
            let storage = try PostgresStorage(url: try await TestPostgres.freshDatabase(), logger: Logger(label: "test"))
            return (try await PostgresBrokerStore(storage: storage), { await storage.close() })
        }
    }

    static func temporaryFile(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID().uuidString)").appendingPathComponent(name).path
    }
}
