import Foundation

/// Where a chunk is within a tenant: its collection, document and index.
public struct ChunkLocation: Sendable, Hashable {
    /// The collection.
    public let collection: CollectionName
    /// The document.
    public let documentID: DocumentID
    /// The chunk's index within the document.
    public let index: Int

    /// A location.
    public init(collection: CollectionName, documentID: DocumentID, index: Int) {
        self.collection = collection
        self.documentID = documentID
        self.index = index
    }
}

/// A chunk read together with its document's row (ciphertext and non-sensitive fields only).
public struct ChunkWithDocument: Sendable, Equatable {
    /// The document's row: its wrapped DEK and what the chunk's AAD binds.
    public let document: StoredDocument
    /// The chunk.
    public let chunk: StoredChunk

    /// Pairs a chunk with its document.
    public init(document: StoredDocument, chunk: StoredChunk) {
        self.document = document
        self.chunk = chunk
    }
}

extension DocumentStore {
    /// The most locations a store reads in one statement (bound parameters stay far below SQLite's and
    /// PostgreSQL's limits); longer lists are read in batches of this size.
    public static var chunkBatchLimit: Int { 256 }

    /// The default: one document and one chunk read per location, for a store without a batched read.
    public func chunks(tenant: TenantID, at locations: [ChunkLocation]) async throws -> [ChunkLocation: ChunkWithDocument] {
        try await chunksOneByOne(tenant: tenant, at: locations)
    }

    /// One document and one chunk read per location.
    public func chunksOneByOne(tenant: TenantID, at locations: [ChunkLocation]) async throws -> [ChunkLocation: ChunkWithDocument] {
        var documents: [String: StoredDocument?] = [:]
        var out: [ChunkLocation: ChunkWithDocument] = [:]
        for location in locations where out[location] == nil {
            let key = "\(location.collection)/\(location.documentID)"
            if documents[key] == nil {
                documents[key] = .some(try await document(tenant: tenant, collection: location.collection, id: location.documentID))
            }
            guard let found = documents[key], let document = found,
                let chunk = try await chunk(tenant: tenant, collection: location.collection, documentID: location.documentID, index: location.index)
            else { continue }
            out[location] = ChunkWithDocument(document: document, chunk: chunk)
        }
        return out
    }
}
