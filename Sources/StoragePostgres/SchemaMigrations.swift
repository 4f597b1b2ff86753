import Foundation
import PostgresNIO
import SealgateCore

/// Versioned schema migrations, one list per component (`documents`, `broker`, …) in table `sealgate_schema`.
///
/// Migration *n* (1-based) is `migrations[n - 1]`; they are applied in order, in one transaction, under an
/// advisory lock so that replicas starting together migrate once. A database whose component is at a version
/// newer than this build knows is refused: an older replica never writes into a schema it does not understand.
public struct SchemaMigrations: Sendable {
    /// The component these migrations belong to.
    public let component: String
    /// The SQL of each version, oldest first (each entry may hold several statements run one by one).
    public let migrations: [[String]]

    /// Creates a component's migration list.
    public init(component: String, migrations: [[String]]) {
        self.component = component
        self.migrations = migrations
    }

    /// The version this build brings the schema to.
    public var latest: Int { migrations.count }

    /// Brings the component's schema to ``latest``; returns the version found before.
    /// - Throws: ``SealgateError`` `storage_unavailable` when the database is unreachable or its schema is newer.
    @discardableResult
    public func apply(on storage: PostgresStorage) async throws -> Int {
        let component = component
        let migrations = migrations
        let outcome: Result<Int, SealgateError> = try await storage.transaction("migrate \(component)") { connection, logger in
            // One fixed key for every Sealgate component: migrations of a database never run concurrently.
            try await connection.query("SELECT pg_advisory_xact_lock(7365616167617465)", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS sealgate_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at DOUBLE PRECISION NOT NULL)",
                logger: logger)
            var found = 0
            for try await version in try await connection.query(
                "SELECT version FROM sealgate_schema WHERE component = \(component)", logger: logger
            ).decode(Int.self) {
                found = version
            }
            if found > migrations.count {
                return .failure(
                    SealgateError(
                        .storageUnavailable,
                        "the database's \(component) schema is at version \(found), newer than this build's \(migrations.count): "
                            + "upgrade sealgate before running it against this database"))
            }
            for statements in migrations.dropFirst(found) {
                for sql in statements { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
            }
            if found < migrations.count {
                let now = Date().timeIntervalSince1970
                try await connection.query(
                    """
                    INSERT INTO sealgate_schema (component, version, applied_at) VALUES (\(component), \(migrations.count), \(now))
                    ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, applied_at = EXCLUDED.applied_at
                    """, logger: logger)
            }
            return .success(found)
        }
        return try outcome.get()
    }

    /// The component's version in the database (0 when it was never migrated).
    public func currentVersion(on storage: PostgresStorage) async throws -> Int {
        let exists = try await storage.query("SELECT to_regclass('sealgate_schema') IS NOT NULL", "schema version")
        guard try exists.first?.decode(Bool.self) == true else { return 0 }
        let rows = try await storage.query("SELECT version FROM sealgate_schema WHERE component = \(component)", "schema version")
        return try rows.first?.decode(Int.self) ?? 0
    }
}
