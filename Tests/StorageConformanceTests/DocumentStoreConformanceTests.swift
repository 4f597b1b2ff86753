import Foundation
import SealgateCore
import Testing

/// Every document-store behaviour the gateway relies on, run against each backend (SQLite file, PostgreSQL).
@Suite("Document store conformance (SQLite and PostgreSQL)")
struct DocumentStoreConformanceTests {
    static let acme = TenantID(unchecked: "acme")
    static let globex = TenantID(unchecked: "globex")
    static let notes = CollectionName(unchecked: "notes")
    static let hr = CollectionName(unchecked: "hr")

    static func document(
        _ tenant: TenantID = acme, _ collection: CollectionName = notes, _ id: String, chunks: Int, version: Int = 1, dataClass: String = "internal"
    ) -> (StoredDocument, [StoredChunk]) {
        let documentID = DocumentID(unchecked: id)
        let document = StoredDocument(
            tenant: tenant, collection: collection, id: documentID, dataClass: DataClass(unchecked: dataClass), kekVersion: version,
            wrappedDEK: Data("dek-\(id)-\(version)".utf8), sealedTitle: Data([1, 2, 3, UInt8(truncatingIfNeeded: chunks)]), sealedMetadata: Data([0, 255]),
            chunkCount: chunks, embedder: "hash-384", createdAt: Date(timeIntervalSince1970: 1_800_000_000.25))
        let stored = (0..<chunks).map { index in
            StoredChunk(
                tenant: tenant, collection: collection, documentID: documentID, index: index, sealedText: Data("text-\(id)-\(index)".utf8),
                sealedEmbedding: Data(repeating: UInt8(truncatingIfNeeded: index), count: 64))
        }
        return (document, stored)
    }

    @Test("Put, read back, replace and list: rows come back byte for byte, ordered, and per tenant", arguments: Backend.enabled)
    func roundTrip(_ backend: Backend) async throws {
        let (store, close) = try await backend.documentStore()
        defer { Task { await close() } }
        let (b, bChunks) = Self.document(Self.acme, Self.notes, "b", chunks: 3)
        let (a, aChunks) = Self.document(Self.acme, Self.notes, "a", chunks: 2)
        let (h, hChunks) = Self.document(Self.acme, Self.hr, "h", chunks: 1)
        let (g, gChunks) = Self.document(Self.globex, Self.notes, "a", chunks: 1)
        for (document, chunks) in [(b, bChunks), (a, aChunks), (h, hChunks), (g, gChunks)] { try await store.put(document, chunks: chunks) }

        #expect(try await store.document(tenant: Self.acme, collection: Self.notes, id: a.id) == a)
        #expect(try await store.document(tenant: Self.globex, collection: Self.notes, id: a.id) == g)
        #expect(try await store.document(tenant: Self.acme, collection: Self.notes, id: DocumentID(unchecked: "missing")) == nil)
        #expect(try await store.documents(tenant: Self.acme, collection: Self.notes) == [a, b])
        #expect(try await store.documents(tenant: Self.acme) == [h, a, b])
        #expect(try await store.chunks(tenant: Self.acme) == hChunks + aChunks + bChunks)
        #expect(try await store.chunks(tenant: Self.globex) == gChunks)
        #expect(try await store.chunks(tenant: Self.acme, collection: Self.notes, documentID: b.id) == bChunks)
        #expect(try await store.chunk(tenant: Self.acme, collection: Self.notes, documentID: b.id, index: 2) == bChunks[2])
        #expect(try await store.chunk(tenant: Self.acme, collection: Self.notes, documentID: b.id, index: 3) == nil)
        #expect(try await store.chunkCount(tenant: Self.acme) == 6)
        #expect(try await store.chunkCount(tenant: Self.globex) == 1)
        #expect(try await store.chunkCount(tenant: TenantID(unchecked: "nobody")) == 0)

        // Replacing a document replaces its chunks: none of the old ones survive.
        let (b2, b2Chunks) = Self.document(Self.acme, Self.notes, "b", chunks: 1, version: 2)
        try await store.put(b2, chunks: b2Chunks)
        #expect(try await store.document(tenant: Self.acme, collection: Self.notes, id: b.id) == b2)
        #expect(try await store.chunks(tenant: Self.acme, collection: Self.notes, documentID: b.id) == b2Chunks)
        #expect(try await store.documents(tenant: Self.acme, collection: Self.notes).count == 2)
        #expect(try await store.chunkCount(tenant: Self.acme) == 4)
    }

    @Test("A replace or delete limited to some classes leaves a document of another class as it was, in the same step", arguments: Backend.enabled)
    func classBoundWrites(_ backend: Backend) async throws {
        let (store, close) = try await backend.documentStore()
        defer { Task { await close() } }
        let (restricted, public_) = (DataClass(unchecked: "restricted"), DataClass(unchecked: "public"))
        let (secret, secretChunks) = Self.document(Self.acme, Self.notes, "d", chunks: 2, dataClass: "restricted")
        try await store.put(secret, chunks: secretChunks)
        let (mine, mineChunks) = Self.document(Self.acme, Self.notes, "d", chunks: 1, version: 2, dataClass: "public")
        await #expect(throws: (any Error).self) { try await store.put(mine, chunks: mineChunks, replacingOnly: [public_]) }
        #expect(try await store.document(tenant: Self.acme, collection: Self.notes, id: secret.id) == secret)
        #expect(try await store.chunks(tenant: Self.acme, collection: Self.notes, documentID: secret.id) == secretChunks)
        #expect(try await !store.delete(tenant: Self.acme, collection: Self.notes, id: secret.id, onlyOf: [public_]))
        #expect(try await !store.delete(tenant: Self.acme, collection: Self.notes, id: secret.id, onlyOf: []))
        #expect(try await store.document(tenant: Self.acme, collection: Self.notes, id: secret.id) == secret)

        // A class in the set: replaced, chunks and all; then deleted by a caller limited to the new class.
        try await store.put(mine, chunks: mineChunks, replacingOnly: [public_, restricted])
        #expect(try await store.document(tenant: Self.acme, collection: Self.notes, id: mine.id) == mine)
        #expect(try await store.chunks(tenant: Self.acme, collection: Self.notes, documentID: mine.id) == mineChunks)
        #expect(try await store.delete(tenant: Self.acme, collection: Self.notes, id: mine.id, onlyOf: [public_]))
        #expect(try await store.document(tenant: Self.acme, collection: Self.notes, id: mine.id) == nil)
        #expect(try await store.chunks(tenant: Self.acme, collection: Self.notes, documentID: mine.id).isEmpty)
        // A new id is stored whatever the limit.
        try await store.put(mine, chunks: mineChunks, replacingOnly: [])
        #expect(try await store.document(tenant: Self.acme, collection: Self.notes, id: mine.id) == mine)
    }

    @Test("Chunks read by location come with their documents: present ones once, missing and other tenants' absent, past the batch size", arguments: Backend.enabled)
    func chunksAtLocations(_ backend: Backend) async throws {
        let (store, close) = try await backend.documentStore()
        defer { Task { await close() } }
        let (a, aChunks) = Self.document(Self.acme, Self.notes, "a", chunks: 3)
        let (h, hChunks) = Self.document(Self.acme, Self.hr, "h", chunks: 1)
        let (g, gChunks) = Self.document(Self.globex, Self.notes, "g", chunks: 2)
        let (big, bigChunks) = Self.document(Self.acme, Self.notes, "big", chunks: 300)
        for (document, chunks) in [(a, aChunks), (h, hChunks), (g, gChunks), (big, bigChunks)] { try await store.put(document, chunks: chunks) }
        func at(_ collection: CollectionName, _ id: String, _ index: Int) -> ChunkLocation {
            ChunkLocation(collection: collection, documentID: DocumentID(unchecked: id), index: index)
        }
        let wanted = [at(Self.notes, "a", 2), at(Self.notes, "a", 0), at(Self.hr, "h", 0), at(Self.notes, "a", 2), at(Self.notes, "a", 3),
                      at(Self.notes, "g", 0), at(Self.hr, "a", 0), at(Self.notes, "missing", 0)]
        let rows = try await store.chunks(tenant: Self.acme, at: wanted)
        #expect(rows.count == 3)
        #expect(rows[at(Self.notes, "a", 2)] == ChunkWithDocument(document: a, chunk: aChunks[2]))
        #expect(rows[at(Self.notes, "a", 0)] == ChunkWithDocument(document: a, chunk: aChunks[0]))
        #expect(rows[at(Self.hr, "h", 0)] == ChunkWithDocument(document: h, chunk: hChunks[0]))
        // Another tenant's chunk at the same collection and id is never returned.
        #expect(try await store.chunks(tenant: Self.globex, at: [at(Self.notes, "a", 0)]).isEmpty)
        #expect(try await store.chunks(tenant: Self.globex, at: [at(Self.notes, "g", 1)])[at(Self.notes, "g", 1)]?.chunk == gChunks[1])
        #expect(try await store.chunks(tenant: Self.acme, at: []).isEmpty)
        // More locations than one statement takes: every one comes back, byte for byte.
        let all = (0..<300).map { at(Self.notes, "big", $0) }
        let bigRows = try await store.chunks(tenant: Self.acme, at: all)
        #expect(bigRows.count == 300)
        #expect(all.allSatisfy { bigRows[$0] == ChunkWithDocument(document: big, chunk: bigChunks[$0.index]) })
        // Deleted documents take their chunks out of the read.
        _ = try await store.delete(tenant: Self.acme, collection: Self.notes, id: a.id)
        #expect(try await store.chunks(tenant: Self.acme, at: wanted).keys.sorted { $0.collection.rawValue < $1.collection.rawValue } == [at(Self.hr, "h", 0)])
    }

    @Test("Delete removes a document and its chunks, once, and only that tenant's", arguments: Backend.enabled)
    func delete(_ backend: Backend) async throws {
        let (store, close) = try await backend.documentStore()
        defer { Task { await close() } }
        let (a, aChunks) = Self.document(Self.acme, Self.notes, "a", chunks: 2)
        let (g, gChunks) = Self.document(Self.globex, Self.notes, "a", chunks: 2)
        try await store.put(a, chunks: aChunks)
        try await store.put(g, chunks: gChunks)
        #expect(try await store.delete(tenant: Self.acme, collection: Self.notes, id: a.id))
        #expect(try await !store.delete(tenant: Self.acme, collection: Self.notes, id: a.id))
        #expect(try await store.documents(tenant: Self.acme).isEmpty)
        #expect(try await store.chunks(tenant: Self.acme).isEmpty)
        #expect(try await store.chunks(tenant: Self.globex) == gChunks)
    }

    @Test("Re-wrap is a compare-and-set on the DEK's version and bytes: a second re-wrap, or one of a document re-ingested since it was read, does nothing", arguments: Backend.enabled)
    func rewrap(_ backend: Backend) async throws {
        let (store, close) = try await backend.documentStore()
        defer { Task { await close() } }
        let (a, aChunks) = Self.document(Self.acme, Self.notes, "a", chunks: 1)
        try await store.put(a, chunks: aChunks)
        let old = a.wrappedDEK
        #expect(try await store.rewrap(tenant: Self.acme, collection: Self.notes, id: a.id, from: 1, replacing: old, to: 2, wrappedDEK: Data("v2".utf8)))
        #expect(try await !store.rewrap(tenant: Self.acme, collection: Self.notes, id: a.id, from: 1, replacing: old, to: 2, wrappedDEK: Data("other".utf8)))
        #expect(try await !store.rewrap(tenant: Self.acme, collection: Self.notes, id: DocumentID(unchecked: "none"), from: 1, replacing: old, to: 2, wrappedDEK: Data()))
        let stored = try #require(try await store.document(tenant: Self.acme, collection: Self.notes, id: a.id))
        #expect(stored.dekVersion == 2)
        #expect(stored.kekVersion == 1)
        #expect(stored.wrappedDEK == Data("v2".utf8))

        // Read under v1, then re-ingested under v1 with a DEK of its own before the re-wrap's write: the write misses.
        let (b, bChunks) = Self.document(Self.acme, Self.notes, "b", chunks: 1)
        try await store.put(b, chunks: bChunks)
        let read = try #require(try await store.document(tenant: Self.acme, collection: Self.notes, id: b.id))
        let again = StoredDocument(
            tenant: b.tenant, collection: b.collection, id: b.id, dataClass: b.dataClass, kekVersion: 1, wrappedDEK: Data("dek-b-new".utf8),
            sealedTitle: b.sealedTitle, sealedMetadata: b.sealedMetadata, chunkCount: 1, embedder: b.embedder, createdAt: b.createdAt)
        try await store.put(again, chunks: bChunks)
        #expect(try await !store.rewrap(
            tenant: Self.acme, collection: Self.notes, id: b.id, from: read.dekVersion, replacing: read.wrappedDEK, to: 2, wrappedDEK: Data("old-dek-v2".utf8)))
        let kept = try #require(try await store.document(tenant: Self.acme, collection: Self.notes, id: b.id))
        #expect(kept.wrappedDEK == Data("dek-b-new".utf8) && kept.dekVersion == 1)
    }

    @Test("Index snapshots: save, replace, list per tenant, delete", arguments: Backend.enabled)
    func snapshots(_ backend: Backend) async throws {
        let (store, close) = try await backend.documentStore()
        defer { Task { await close() } }
        let key = IndexSnapshotKey(tenant: Self.acme, collection: Self.notes, dataClass: DataClass(unchecked: "internal"), embedder: "hash-384")
        let other = IndexSnapshotKey(tenant: Self.globex, collection: Self.notes, dataClass: DataClass(unchecked: "internal"), embedder: "hash-384")
        #expect(try await store.snapshot(key) == nil)
        try await store.save(Data([1, 2, 3]), for: key)
        try await store.save(Data([4, 5]), for: key)
        try await store.save(Data([9]), for: other)
        #expect(try await store.snapshot(key) == Data([4, 5]))
        #expect(try await store.keys(tenant: Self.acme) == [key])
        try await store.delete(key)
        #expect(try await store.snapshot(key) == nil)
        #expect(try await store.snapshot(other) == Data([9]))
    }
}
