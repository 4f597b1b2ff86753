import Foundation
import HummingbirdTesting
import Logging
import SealgateCore
import StorageSQLite
import Testing

@testable import SealgateServer

@Suite("Ciphertext moved inside the database does not open")
struct MovedCiphertextTests {
    @Test("A document copied to another tenant, collection or class never decrypts there; swapped chunks are refused")
    func movedRows() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let text = String(repeating: "The vault code rotates weekly and the night guard keeps the ledger. ", count: 30)
            let created = try await client.send(.post, "/v1/collections/vault/documents", key: Keys.acme, json: documentJSON(id: "vault", title: "Vault", text: text, dataClass: "confidential"))
            #expect((created.object["chunks"] as? Int ?? 0) >= 2)

            // An operator with database access copies acme's rows elsewhere.
            let store = try await SQLiteDocumentStore(path: fixture.dir + "/sealgate.sqlite", logger: Logger(label: "operator"))
            let acme = TenantID(unchecked: "acme")
            let original = try #require(try await store.document(tenant: acme, collection: CollectionName(unchecked: "vault"), id: DocumentID(unchecked: "vault")))
            let chunks = try await store.chunks(tenant: acme, collection: original.collection, documentID: original.id)
            func copy(tenant: TenantID, collection: CollectionName, dataClass: DataClass, chunks: [StoredChunk]) async throws {
                let doc = StoredDocument(
                    tenant: tenant, collection: collection, id: original.id, dataClass: dataClass, kekVersion: original.kekVersion,
                    wrappedDEK: original.wrappedDEK, sealedTitle: original.sealedTitle, sealedMetadata: original.sealedMetadata,
                    chunkCount: original.chunkCount, embedder: original.embedder, createdAt: original.createdAt)
                try await store.put(doc, chunks: chunks.map {
                    StoredChunk(tenant: tenant, collection: collection, documentID: $0.documentID, index: $0.index, sealedText: $0.sealedText, sealedEmbedding: $0.sealedEmbedding)
                })
            }
            try await copy(tenant: TenantID(unchecked: "globex"), collection: original.collection, dataClass: original.dataClass, chunks: chunks)
            try await copy(tenant: acme, collection: CollectionName(unchecked: "public-notes"), dataClass: original.dataClass, chunks: chunks)
            try await copy(tenant: acme, collection: CollectionName(unchecked: "lowered"), dataClass: DataClass(unchecked: "public"), chunks: chunks)
            // Swap the first two chunks of the original in place.
            var swapped = chunks
            swapped[0] = StoredChunk(tenant: acme, collection: original.collection, documentID: original.id, index: 0, sealedText: chunks[1].sealedText, sealedEmbedding: chunks[0].sealedEmbedding)
            swapped[1] = StoredChunk(tenant: acme, collection: original.collection, documentID: original.id, index: 1, sealedText: chunks[0].sealedText, sealedEmbedding: chunks[1].sealedEmbedding)
            try await store.put(original, chunks: swapped)
            await store.close()

            let globex = try await client.send(.post, "/v1/query", key: Keys.globex, json: queryJSON("Who keeps the ledger?", dataClass: "restricted", scope: ["vault"]))
            #expect(globex.status == .ok)
            #expect((globex.object["citations"] as? [Any])?.isEmpty == true)
            let globexList = try await client.send(.get, "/v1/collections/vault/documents", key: Keys.globex)
            #expect((globexList.object["documents"] as? [Any])?.isEmpty == true)

            for collection in ["public-notes", "lowered"] {
                let moved = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Who keeps the ledger?", dataClass: "restricted", scope: [collection]))
                #expect((moved.object["citations"] as? [Any])?.isEmpty == true, "\(collection)")
                #expect(!(moved.object["answer"] as? String ?? "").contains("night guard"))
            }

            let original2 = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Who keeps the ledger?", dataClass: "restricted", scope: ["vault"]))
            #expect(original2.problemType == "urn:sealgate:problem:integrity_failure")
            let metrics = try await client.send(.get, "/metrics", key: nil)
            #expect(metrics.text.contains("sealgate_integrity_failures_total"))
        }
    }
}
