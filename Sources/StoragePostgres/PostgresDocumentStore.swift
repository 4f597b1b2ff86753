import Foundation
import NIOCore
import PostgresNIO
import SealgateCore

/// ``DocumentStore`` and ``IndexSnapshotStore`` on PostgreSQL: the same rows as the SQLite store (ciphertext,
/// wrapped keys and identifiers only), shared by every gateway replica on the database. Each change notifies
/// channel ``changeChannel`` with the tenant's id so other replicas can drop that tenant's index.
public struct PostgresDocumentStore: DocumentStore {
    /// The database.
    public let storage: PostgresStorage
    /// This store instance's name in change notifications (its own changes are not handed back to it).
    public let origin = UUID().uuidString

    /// The LISTEN/NOTIFY channel of document changes; the payload is a tenant id.
    public static let changeChannel = "sealgate_documents"

    /// The document store's schema versions.
    public static let migrations = SchemaMigrations(
        component: "documents",
        migrations: [
            [
                """
                CREATE TABLE documents (
                    tenant TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL, data_class TEXT NOT NULL,
                    kek_version INTEGER NOT NULL, dek_version INTEGER NOT NULL, wrapped_dek BYTEA NOT NULL,
                    sealed_title BYTEA NOT NULL, sealed_metadata BYTEA NOT NULL, chunk_count INTEGER NOT NULL,
                    embedder TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (tenant, collection, id))
                """,
                """
                CREATE TABLE chunks (
                    tenant TEXT NOT NULL, collection TEXT NOT NULL, document_id TEXT NOT NULL, idx INTEGER NOT NULL,
                    sealed_text BYTEA NOT NULL, sealed_embedding BYTEA NOT NULL,
                    PRIMARY KEY (tenant, collection, document_id, idx),
                    FOREIGN KEY (tenant, collection, document_id) REFERENCES documents (tenant, collection, id) ON DELETE CASCADE)
                """,
                """
                CREATE TABLE index_snapshots (
                    tenant TEXT NOT NULL, collection TEXT NOT NULL, data_class TEXT NOT NULL, embedder TEXT NOT NULL,
                    sealed BYTEA NOT NULL, PRIMARY KEY (tenant, collection, data_class, embedder))
                """,
                // Job leases (one replica runs a job such as the DEK re-wrap after a rotation; see JobLeases).
                "CREATE TABLE job_leases (job TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL)",
            ]
        ])

    /// Opens the store on `storage`, applying pending migrations.
    /// - Throws: ``SealgateError`` `storage_unavailable` when unreachable or when the schema is newer than this build.
    public init(storage: PostgresStorage) async throws {
        self.storage = storage
        try await Self.migrations.apply(on: storage)
    }

    static let columns =
        "tenant, collection, id, data_class, kek_version, dek_version, wrapped_dek, sealed_title, sealed_metadata, chunk_count, embedder, created_at"
    static let chunkColumns = "tenant, collection, document_id, idx, sealed_text, sealed_embedding"

    public func put(_ document: StoredDocument, chunks: [StoredChunk], replacingOnly classes: Set<DataClass>?) async throws {
        try await storage.transaction("put document") { connection, logger in
            let (t, c, i) = (document.tenant.rawValue, document.collection.rawValue, document.id.rawValue)
            // A row of a class outside `classes` is not deleted, so the INSERT below meets its primary key and the
            // transaction rolls back: nothing replaced, nothing stored.
            if let classes {
                let allowed = classes.map(\.rawValue).sorted()
                try await connection.query(
                    "DELETE FROM documents WHERE tenant = \(t) AND collection = \(c) AND id = \(i) AND data_class = ANY(\(allowed))", logger: logger)
            } else {
                try await connection.query("DELETE FROM documents WHERE tenant = \(t) AND collection = \(c) AND id = \(i)", logger: logger)
            }
            try await connection.query(
                """
                INSERT INTO documents (tenant, collection, id, data_class, kek_version, dek_version, wrapped_dek, sealed_title,
                    sealed_metadata, chunk_count, embedder, created_at)
                VALUES (\(t), \(c), \(i), \(document.dataClass.rawValue), \(document.kekVersion), \(document.dekVersion),
                    \(document.wrappedDEK), \(document.sealedTitle), \(document.sealedMetadata), \(document.chunkCount),
                    \(document.embedder), \(document.createdAt.timeIntervalSince1970))
                """, logger: logger)
            if !chunks.isEmpty {
                // One statement for every chunk: arrays unnested server-side.
                let indexes = chunks.map(\.index)
                let texts = chunks.map { ByteBuffer(bytes: $0.sealedText) }
                let embeddings = chunks.map { ByteBuffer(bytes: $0.sealedEmbedding) }
                try await connection.query(
                    """
                    INSERT INTO chunks (tenant, collection, document_id, idx, sealed_text, sealed_embedding)
                    SELECT \(t), \(c), \(i), * FROM unnest(\(indexes)::INTEGER[], \(texts)::BYTEA[], \(embeddings)::BYTEA[])
                    """, logger: logger)
            }
            try await Self.notify(connection, origin: origin, tenant: t, logger: logger)
        }
    }

    public func document(tenant: TenantID, collection: CollectionName, id: DocumentID) async throws -> StoredDocument? {
        try await storage.query(
            "SELECT \(unescaped: Self.columns) FROM documents WHERE tenant = \(tenant.rawValue) AND collection = \(collection.rawValue) AND id = \(id.rawValue)",
            "document"
        ).compactMap(Self.document).first
    }

    public func chunkCount(tenant: TenantID) async throws -> Int {
        let rows = try await storage.query(
            "SELECT COALESCE(SUM(chunk_count), 0)::BIGINT FROM documents WHERE tenant = \(tenant.rawValue)", "chunk count")
        return try rows.first.map { Int(try $0.decode(Int64.self)) } ?? 0
    }

    public func documents(tenant: TenantID, collection: CollectionName) async throws -> [StoredDocument] {
        try await storage.query(
            "SELECT \(unescaped: Self.columns) FROM documents WHERE tenant = \(tenant.rawValue) AND collection = \(collection.rawValue) ORDER BY id",
            "documents"
        ).compactMap(Self.document)
    }

    public func documents(tenant: TenantID) async throws -> [StoredDocument] {
        try await storage.query(
            "SELECT \(unescaped: Self.columns) FROM documents WHERE tenant = \(tenant.rawValue) ORDER BY collection, id", "documents"
        ).compactMap(Self.document)
    }

    public func chunks(tenant: TenantID) async throws -> [StoredChunk] {
        try await storage.query(
            "SELECT \(unescaped: Self.chunkColumns) FROM chunks WHERE tenant = \(tenant.rawValue) ORDER BY collection, document_id, idx", "chunks"
        ).compactMap(Self.chunk)
    }

    public func chunks(tenant: TenantID, collection: CollectionName, documentID: DocumentID) async throws -> [StoredChunk] {
        try await storage.query(
            """
            SELECT \(unescaped: Self.chunkColumns) FROM chunks
            WHERE tenant = \(tenant.rawValue) AND collection = \(collection.rawValue) AND document_id = \(documentID.rawValue) ORDER BY idx
            """, "chunks"
        ).compactMap(Self.chunk)
    }

    public func chunk(tenant: TenantID, collection: CollectionName, documentID: DocumentID, index: Int) async throws -> StoredChunk? {
        try await storage.query(
            """
            SELECT \(unescaped: Self.chunkColumns) FROM chunks
            WHERE tenant = \(tenant.rawValue) AND collection = \(collection.rawValue) AND document_id = \(documentID.rawValue) AND idx = \(index)
            """, "chunk"
        ).compactMap(Self.chunk).first
    }

    public func delete(tenant: TenantID, collection: CollectionName, id: DocumentID, onlyOf classes: Set<DataClass>?) async throws -> Bool {
        try await storage.transaction("delete document") { connection, logger in
            let (t, c, i) = (tenant.rawValue, collection.rawValue, id.rawValue)
            // With `classes`, every class name if none is given (`ANY` of all), so one statement serves both.
            let query: PostgresQuery
            if let classes {
                let allowed = classes.map(\.rawValue).sorted()
                query = "DELETE FROM documents WHERE tenant = \(t) AND collection = \(c) AND id = \(i) AND data_class = ANY(\(allowed)) RETURNING id"
            } else {
                query = "DELETE FROM documents WHERE tenant = \(t) AND collection = \(c) AND id = \(i) RETURNING id"
            }
            var deleted = 0
            for try await _ in try await connection.query(query, logger: logger) {
                deleted += 1
            }
            if deleted > 0 { try await Self.notify(connection, origin: origin, tenant: t, logger: logger) }
            return deleted > 0
        }
    }

    public func rewrap(
        tenant: TenantID, collection: CollectionName, id: DocumentID, from: Int, replacing: Data, to: Int, wrappedDEK: Data
    ) async throws -> Bool {
        try await storage.transaction("rewrap") { connection, logger in
            let t = tenant.rawValue
            var changed = 0
            for try await _ in try await connection.query(
                """
                UPDATE documents SET wrapped_dek = \(wrappedDEK), dek_version = \(to)
                WHERE tenant = \(t) AND collection = \(collection.rawValue) AND id = \(id.rawValue) AND dek_version = \(from)
                  AND wrapped_dek = \(replacing) RETURNING id
                """, logger: logger)
            {
                changed += 1
            }
            if changed > 0 { try await Self.notify(connection, origin: origin, tenant: t, logger: logger) }
            return changed > 0
        }
    }

    static func document(_ row: PostgresRow) -> StoredDocument? {
        guard
            let (tenant, collection, id, dataClass, kek, dek, wrapped, title, metadata, count, embedder, created) = try? row.decode(
                (String, String, String, String, Int, Int, Data, Data, Data, Int, String, Double).self),
            let tenantID = TenantID(tenant), let collectionName = CollectionName(collection), let documentID = DocumentID(id),
            let dataClassName = DataClass(dataClass)
        else { return nil }
        return StoredDocument(
            tenant: tenantID, collection: collectionName, id: documentID, dataClass: dataClassName, kekVersion: kek, dekVersion: dek,
            wrappedDEK: wrapped, sealedTitle: title, sealedMetadata: metadata, chunkCount: count, embedder: embedder,
            createdAt: Date(timeIntervalSince1970: created))
    }

    static func chunk(_ row: PostgresRow) -> StoredChunk? {
        guard let (tenant, collection, id, index, text, embedding) = try? row.decode((String, String, String, Int, Data, Data).self),
            let tenantID = TenantID(tenant), let collectionName = CollectionName(collection), let documentID = DocumentID(id)
        else { return nil }
        return StoredChunk(
            tenant: tenantID, collection: collectionName, documentID: documentID, index: index, sealedText: text, sealedEmbedding: embedding)
    }
}

/// Sealed index snapshots in table `index_snapshots`, beside the documents.
extension PostgresDocumentStore: IndexSnapshotStore {
    public func snapshot(_ key: IndexSnapshotKey) async throws -> Data? {
        try await storage.query(
            """
            SELECT sealed FROM index_snapshots WHERE tenant = \(key.tenant.rawValue) AND collection = \(key.collection.rawValue)
            AND data_class = \(key.dataClass.rawValue) AND embedder = \(key.embedder)
            """, "snapshot"
        ).first.flatMap { try? $0.decode(Data.self) }
    }

    public func save(_ sealed: Data, for key: IndexSnapshotKey) async throws {
        _ = try await storage.query(
            """
            INSERT INTO index_snapshots (tenant, collection, data_class, embedder, sealed)
            VALUES (\(key.tenant.rawValue), \(key.collection.rawValue), \(key.dataClass.rawValue), \(key.embedder), \(sealed))
            ON CONFLICT (tenant, collection, data_class, embedder) DO UPDATE SET sealed = EXCLUDED.sealed
            """, "save snapshot")
    }

    public func keys(tenant: TenantID) async throws -> [IndexSnapshotKey] {
        try await storage.query(
            "SELECT tenant, collection, data_class, embedder FROM index_snapshots WHERE tenant = \(tenant.rawValue)", "snapshot keys"
        ).compactMap { row in
            guard let (t, c, d, e) = try? row.decode((String, String, String, String).self), let tenant = TenantID(t),
                let collection = CollectionName(c), let dataClass = DataClass(d)
            else { return nil }
            return IndexSnapshotKey(tenant: tenant, collection: collection, dataClass: dataClass, embedder: e)
        }
    }

    public func delete(_ key: IndexSnapshotKey) async throws {
        _ = try await storage.query(
            """
            DELETE FROM index_snapshots WHERE tenant = \(key.tenant.rawValue) AND collection = \(key.collection.rawValue)
            AND data_class = \(key.dataClass.rawValue) AND embedder = \(key.embedder)
            """, "delete snapshot")
    }
}
