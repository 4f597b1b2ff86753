import Foundation
import PostgresNIO
import SealgateCore

extension PostgresDocumentStore {
    /// Chunks with their documents in one round trip per batch of locations (a join on the primary keys against the
    /// unnested locations), instead of two round trips per location.
    public func chunks(tenant: TenantID, at locations: [ChunkLocation]) async throws -> [ChunkLocation: ChunkWithDocument] {
        var out: [ChunkLocation: ChunkWithDocument] = [:]
        let unique = Array(Set(locations))
        for start in stride(from: 0, to: unique.count, by: Self.chunkBatchLimit) {
            let batch = unique[start..<min(unique.count, start + Self.chunkBatchLimit)]
            let collections = batch.map(\.collection.rawValue)
            let documents = batch.map(\.documentID.rawValue)
            let indexes = batch.map(\.index)
            let rows = try await storage.query(
                """
                SELECT \(unescaped: Self.joinedColumns), c.idx, c.sealed_text, c.sealed_embedding
                FROM unnest(\(collections)::TEXT[], \(documents)::TEXT[], \(indexes)::INTEGER[]) AS l(collection, document_id, idx)
                JOIN chunks c ON c.tenant = \(tenant.rawValue) AND c.collection = l.collection AND c.document_id = l.document_id AND c.idx = l.idx
                JOIN documents d ON d.tenant = c.tenant AND d.collection = c.collection AND d.id = c.document_id
                """, "chunks at")
            for row in rows {
                guard
                    let (tenant, collection, id, dataClass, kek, dek, wrapped, title, metadata, count, embedder, created, index, text, embedding) =
                        try? row.decode((String, String, String, String, Int, Int, Data, Data, Data, Int, String, Double, Int, Data, Data).self),
                    let tenantID = TenantID(tenant), let collectionName = CollectionName(collection), let documentID = DocumentID(id),
                    let dataClassName = DataClass(dataClass)
                else { continue }
                let document = StoredDocument(
                    tenant: tenantID, collection: collectionName, id: documentID, dataClass: dataClassName, kekVersion: kek, dekVersion: dek,
                    wrappedDEK: wrapped, sealedTitle: title, sealedMetadata: metadata, chunkCount: count, embedder: embedder,
                    createdAt: Date(timeIntervalSince1970: created))
                let chunk = StoredChunk(
                    tenant: tenantID, collection: collectionName, documentID: documentID, index: index, sealedText: text, sealedEmbedding: embedding)
                out[ChunkLocation(collection: collectionName, documentID: documentID, index: index)] = ChunkWithDocument(document: document, chunk: chunk)
            }
        }
        return out
    }

    /// ``columns`` of the `documents` table qualified with the alias `d`.
    static let joinedColumns = columns.split(separator: ",").map { "d." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
}
