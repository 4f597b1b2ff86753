import Foundation
import SQLiteNIO
import SealgateCore

extension SQLiteDocumentStore {
    /// Chunks with their documents in one statement per batch of locations (a join on the primary keys), instead
    /// of two statements per location: retrieval rescoring and the answer's passages read many at once.
    public func chunks(tenant: TenantID, at locations: [ChunkLocation]) async throws -> [ChunkLocation: ChunkWithDocument] {
        var out: [ChunkLocation: ChunkWithDocument] = [:]
        let unique = Array(Set(locations))
        for start in stride(from: 0, to: unique.count, by: Self.chunkBatchLimit) {
            let batch = unique[start..<min(unique.count, start + Self.chunkBatchLimit)]
            var binds: [SQLiteData] = [.text(tenant.rawValue)]
            for location in batch {
                binds += [.text(location.collection.rawValue), .text(location.documentID.rawValue), .integer(location.index)]
            }
            let tuples = Array(repeating: "(?, ?, ?)", count: batch.count).joined(separator: ", ")
            let rows = try await db.query(
                """
                SELECT d.*, c.idx AS chunk_idx, c.sealed_text AS chunk_text, c.sealed_embedding AS chunk_embedding
                FROM chunks c JOIN documents d ON d.tenant = c.tenant AND d.collection = c.collection AND d.id = c.document_id
                WHERE c.tenant = ? AND (c.collection, c.document_id, c.idx) IN (VALUES \(tuples))
                """, binds)
            for row in rows {
                guard let document = Self.document(row), let index = row.column("chunk_idx")?.integer,
                    let text = row.column("chunk_text")?.data, let embedding = row.column("chunk_embedding")?.data
                else { continue }
                let chunk = StoredChunk(
                    tenant: document.tenant, collection: document.collection, documentID: document.id, index: Int(index), sealedText: text,
                    sealedEmbedding: embedding)
                out[ChunkLocation(collection: document.collection, documentID: document.id, index: chunk.index)] =
                    ChunkWithDocument(document: document, chunk: chunk)
            }
        }
        return out
    }
}
