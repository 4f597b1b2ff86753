import Foundation
import Logging
import SQLiteNIO
import SealgateCore

/// ``DocumentStore`` on a SQLite file. Holds ciphertext, wrapped keys and non-sensitive metadata only.
public struct SQLiteDocumentStore: DocumentStore {
    let db: SQLiteDatabaseFile

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS documents (
            tenant TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL, data_class TEXT NOT NULL,
            kek_version INTEGER NOT NULL, wrapped_dek BLOB NOT NULL, sealed_title BLOB NOT NULL,
            sealed_metadata BLOB NOT NULL, chunk_count INTEGER NOT NULL, embedder TEXT NOT NULL,
            created_at REAL NOT NULL, dek_version INTEGER, PRIMARY KEY (tenant, collection, id))
        """,
        """
        CREATE TABLE IF NOT EXISTS chunks (
            tenant TEXT NOT NULL, collection TEXT NOT NULL, document_id TEXT NOT NULL, idx INTEGER NOT NULL,
            sealed_text BLOB NOT NULL, sealed_embedding BLOB NOT NULL,
            PRIMARY KEY (tenant, collection, document_id, idx),
            FOREIGN KEY (tenant, collection, document_id) REFERENCES documents (tenant, collection, id)
                ON DELETE CASCADE)
        """,
        """
        CREATE TABLE IF NOT EXISTS index_snapshots (
            tenant TEXT NOT NULL, collection TEXT NOT NULL, data_class TEXT NOT NULL, embedder TEXT NOT NULL,
            sealed BLOB NOT NULL, PRIMARY KEY (tenant, collection, data_class, embedder))
        """,
    ]

    /// Opens the store at `path`.
    public init(path: String, logger: Logger) async throws {
        db = try await SQLiteDatabaseFile(path: path, schema: Self.schema, logger: logger)
        // Databases created before online re-wrapping lack `dek_version` (NULL means: wrapped under kek_version).
        if try await db.query("SELECT name FROM pragma_table_info('documents') WHERE name = 'dek_version'").isEmpty {
            _ = try await db.query("ALTER TABLE documents ADD COLUMN dek_version INTEGER")
        }
    }

    /// Closes the database; call once at shutdown.
    public func close() async { await db.close() }

    public func put(_ document: StoredDocument, chunks: [StoredChunk], replacingOnly classes: Set<DataClass>?) async throws {
        // A row of a class outside `classes` is not deleted, so the INSERT below meets its primary key and the whole
        // transaction rolls back: nothing replaced, nothing stored.
        let (classClause, classBinds) = Self.classFilter(classes)
        var statements: [(String, [SQLiteData])] = [
            (
                "DELETE FROM documents WHERE tenant = ? AND collection = ? AND id = ?" + classClause,
                [.text(document.tenant.rawValue), .text(document.collection.rawValue), .text(document.id.rawValue)] + classBinds
            ),
            (
                """
                INSERT INTO documents (tenant, collection, id, data_class, kek_version, wrapped_dek, sealed_title,
                    sealed_metadata, chunk_count, embedder, created_at, dek_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(document.tenant.rawValue), .text(document.collection.rawValue), .text(document.id.rawValue),
                    .text(document.dataClass.rawValue), .integer(document.kekVersion), .bytes(document.wrappedDEK),
                    .bytes(document.sealedTitle), .bytes(document.sealedMetadata), .integer(document.chunkCount),
                    .text(document.embedder), .float(document.createdAt.timeIntervalSince1970), .integer(document.dekVersion),
                ]
            ),
        ]
        for chunk in chunks {
            statements.append(
                (
                    """
                    INSERT INTO chunks (tenant, collection, document_id, idx, sealed_text, sealed_embedding)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .text(chunk.tenant.rawValue), .text(chunk.collection.rawValue), .text(chunk.documentID.rawValue),
                        .integer(chunk.index), .bytes(chunk.sealedText), .bytes(chunk.sealedEmbedding),
                    ]
                ))
        }
        try await db.transaction(statements)
    }

    public func document(tenant: TenantID, collection: CollectionName, id: DocumentID) async throws -> StoredDocument? {
        try await db.query(
            "SELECT * FROM documents WHERE tenant = ? AND collection = ? AND id = ?",
            [.text(tenant.rawValue), .text(collection.rawValue), .text(id.rawValue)]
        ).compactMap(Self.document).first
    }

    public func documents(tenant: TenantID, collection: CollectionName) async throws -> [StoredDocument] {
        try await db.query(
            "SELECT * FROM documents WHERE tenant = ? AND collection = ? ORDER BY id",
            [.text(tenant.rawValue), .text(collection.rawValue)]
        ).compactMap(Self.document)
    }

    public func documents(tenant: TenantID) async throws -> [StoredDocument] {
        try await db.query(
            "SELECT * FROM documents WHERE tenant = ? ORDER BY collection, id", [.text(tenant.rawValue)]
        ).compactMap(Self.document)
    }

    public func chunks(tenant: TenantID) async throws -> [StoredChunk] {
        try await db.query(
            "SELECT * FROM chunks WHERE tenant = ? ORDER BY collection, document_id, idx", [.text(tenant.rawValue)]
        ).compactMap(Self.chunk)
    }

    public func chunks(tenant: TenantID, collection: CollectionName, documentID: DocumentID) async throws -> [StoredChunk] {
        try await db.query(
            "SELECT * FROM chunks WHERE tenant = ? AND collection = ? AND document_id = ? ORDER BY idx",
            [.text(tenant.rawValue), .text(collection.rawValue), .text(documentID.rawValue)]
        ).compactMap(Self.chunk)
    }

    public func chunk(tenant: TenantID, collection: CollectionName, documentID: DocumentID, index: Int) async throws -> StoredChunk? {
        try await db.query(
            "SELECT * FROM chunks WHERE tenant = ? AND collection = ? AND document_id = ? AND idx = ?",
            [.text(tenant.rawValue), .text(collection.rawValue), .text(documentID.rawValue), .integer(index)]
        ).compactMap(Self.chunk).first
    }

    public func delete(tenant: TenantID, collection: CollectionName, id: DocumentID, onlyOf classes: Set<DataClass>?) async throws -> Bool {
        let binds: [SQLiteData] = [.text(tenant.rawValue), .text(collection.rawValue), .text(id.rawValue)]
        let (classClause, classBinds) = Self.classFilter(classes)
        let existing = try await db.query(
            "SELECT id FROM documents WHERE tenant = ? AND collection = ? AND id = ?" + classClause, binds + classBinds)
        guard !existing.isEmpty else { return false }
        // The chunks go with their document (ON DELETE CASCADE), and only if it is still of one of `classes`.
        try await db.transaction([("DELETE FROM documents WHERE tenant = ? AND collection = ? AND id = ?" + classClause, binds + classBinds)])
        return true
    }

    /// ` AND data_class IN (?, …)` with its binds for `classes`; nothing for `nil` (an empty set matches no row).
    static func classFilter(_ classes: Set<DataClass>?) -> (String, [SQLiteData]) {
        guard let classes else { return ("", []) }
        guard !classes.isEmpty else { return (" AND 0", []) }
        let sorted = classes.map(\.rawValue).sorted()
        return (" AND data_class IN (" + sorted.map { _ in "?" }.joined(separator: ", ") + ")", sorted.map { .text($0) })
    }

    public func chunkCount(tenant: TenantID) async throws -> Int {
        let rows = try await db.query("SELECT COALESCE(SUM(chunk_count), 0) AS n FROM documents WHERE tenant = ?", [.text(tenant.rawValue)])
        return rows.first?.column("n")?.integer.map { Int($0) } ?? 0
    }

    public func rewrap(
        tenant: TenantID, collection: CollectionName, id: DocumentID, from: Int, replacing: Data, to: Int, wrappedDEK: Data
    ) async throws -> Bool {
        let rows = try await db.query(
            """
            UPDATE documents SET wrapped_dek = ?, dek_version = ?
            WHERE tenant = ? AND collection = ? AND id = ? AND COALESCE(dek_version, kek_version) = ? AND wrapped_dek = ? RETURNING id
            """,
            [.bytes(wrappedDEK), .integer(to), .text(tenant.rawValue), .text(collection.rawValue), .text(id.rawValue), .integer(from), .bytes(replacing)])
        return !rows.isEmpty
    }

    static func document(_ row: SQLiteRow) -> StoredDocument? {
        guard let tenant = row.column("tenant")?.string.flatMap(TenantID.init),
            let collection = row.column("collection")?.string.flatMap(CollectionName.init),
            let id = row.column("id")?.string.flatMap(DocumentID.init),
            let dataClass = row.column("data_class")?.string.flatMap(DataClass.init),
            let version = row.column("kek_version")?.integer, let dek = row.column("wrapped_dek")?.data,
            let title = row.column("sealed_title")?.data, let metadata = row.column("sealed_metadata")?.data,
            let count = row.column("chunk_count")?.integer, let embedder = row.column("embedder")?.string,
            let created = row.column("created_at")?.double
        else { return nil }
        return StoredDocument(
            tenant: tenant, collection: collection, id: id, dataClass: dataClass, kekVersion: Int(version),
            dekVersion: row.column("dek_version")?.integer.map { Int($0) }, wrappedDEK: dek, sealedTitle: title, sealedMetadata: metadata, chunkCount: Int(count), embedder: embedder,
            createdAt: Date(timeIntervalSince1970: created))
    }

    static func chunk(_ row: SQLiteRow) -> StoredChunk? {
        guard let tenant = row.column("tenant")?.string.flatMap(TenantID.init),
            let collection = row.column("collection")?.string.flatMap(CollectionName.init),
            let id = row.column("document_id")?.string.flatMap(DocumentID.init),
            let index = row.column("idx")?.integer, let text = row.column("sealed_text")?.data,
            let embedding = row.column("sealed_embedding")?.data
        else { return nil }
        return StoredChunk(
            tenant: tenant, collection: collection, documentID: id, index: Int(index), sealedText: text,
            sealedEmbedding: embedding)
    }
}
