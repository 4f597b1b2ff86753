import Foundation
import KeyBroker
import Logging
import SQLiteNIO
import SealgateCore

/// The broker's ``KEKStore`` on its own SQLite file. KEKs are sealed under the master key before they get here.
public struct SQLiteKEKStore: KEKStore {
    let db: SQLiteDatabaseFile

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS keks (
            tenant TEXT NOT NULL, data_class TEXT NOT NULL, version INTEGER NOT NULL, sealed_key BLOB NOT NULL,
            created_at REAL NOT NULL, PRIMARY KEY (tenant, data_class, version))
        """
    ]

    /// Opens the store at `path`.
    public init(path: String, logger: Logger) async throws {
        db = try await SQLiteDatabaseFile(path: path, schema: Self.schema, logger: logger)
    }

    /// Closes the database; call once at shutdown.
    public func close() async { await db.close() }

    public func keks(tenant: TenantID, dataClass: DataClass) async throws -> [StoredKEK] {
        try await db.query(
            "SELECT * FROM keks WHERE tenant = ? AND data_class = ? ORDER BY version",
            [.text(tenant.rawValue), .text(dataClass.rawValue)]
        ).compactMap { row in
            guard let version = row.column("version")?.integer, let sealed = row.column("sealed_key")?.data,
                let created = row.column("created_at")?.double
            else { return nil }
            return StoredKEK(
                tenant: tenant, dataClass: dataClass, version: Int(version), sealedKey: sealed,
                createdAt: Date(timeIntervalSince1970: created))
        }
    }

    public func insert(_ kek: StoredKEK) async throws {
        try await db.transaction([
            (
                "INSERT INTO keks (tenant, data_class, version, sealed_key, created_at) VALUES (?, ?, ?, ?, ?)",
                [
                    .text(kek.tenant.rawValue), .text(kek.dataClass.rawValue), .integer(kek.version),
                    .bytes(kek.sealedKey), .float(kek.createdAt.timeIntervalSince1970),
                ]
            )
        ])
    }
}
