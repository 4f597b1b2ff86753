import Foundation
import SQLiteNIO
import SealgateCore

/// Sealed index snapshots in the document database (table `index_snapshots`): ciphertext only, one row per
/// tenant × collection × class × embedder.
extension SQLiteDocumentStore: IndexSnapshotStore {
    public func snapshot(_ key: IndexSnapshotKey) async throws -> Data? {
        try await db.query(
            "SELECT sealed FROM index_snapshots WHERE tenant = ? AND collection = ? AND data_class = ? AND embedder = ?", Self.binds(key)
        ).first?.column("sealed")?.data
    }

    public func save(_ sealed: Data, for key: IndexSnapshotKey) async throws {
        try await db.transaction([
            (
                "INSERT OR REPLACE INTO index_snapshots (tenant, collection, data_class, embedder, sealed) VALUES (?, ?, ?, ?, ?)",
                Self.binds(key) + [.bytes(sealed)]
            )
        ])
    }

    public func keys(tenant: TenantID) async throws -> [IndexSnapshotKey] {
        try await db.query("SELECT tenant, collection, data_class, embedder FROM index_snapshots WHERE tenant = ?", [.text(tenant.rawValue)])
            .compactMap { row in
                guard let tenant = row.column("tenant")?.string.flatMap(TenantID.init),
                    let collection = row.column("collection")?.string.flatMap(CollectionName.init),
                    let dataClass = row.column("data_class")?.string.flatMap(DataClass.init), let embedder = row.column("embedder")?.string
                else { return nil }
                return IndexSnapshotKey(tenant: tenant, collection: collection, dataClass: dataClass, embedder: embedder)
            }
    }

    public func delete(_ key: IndexSnapshotKey) async throws {
        try await db.transaction([
            ("DELETE FROM index_snapshots WHERE tenant = ? AND collection = ? AND data_class = ? AND embedder = ?", Self.binds(key))
        ])
    }

    static func binds(_ key: IndexSnapshotKey) -> [SQLiteData] {
        [.text(key.tenant.rawValue), .text(key.collection.rawValue), .text(key.dataClass.rawValue), .text(key.embedder)]
    }
}
