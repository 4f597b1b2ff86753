import Foundation
import Logging
import Retrieval
import SealgateCore
import Sealing

/// The in-memory index of each tenant's decrypted embeddings: built lazily under the current lease epoch,
/// kept current by ingest and delete, and dropped with the keys.
public final class TenantIndex: Sendable {
    let vectors: VectorIndex
    let keyRing: KeyRing
    let store: any DocumentStore
    let embedderID: String
    let recorder: OutcomeRecorder

    /// Creates an empty index.
    public init(dimensions: Int, idfWeighting: Bool, embedderID: String, keyRing: KeyRing, store: any DocumentStore, recorder: OutcomeRecorder) {
        self.vectors = VectorIndex(dimensions: dimensions, idfWeighting: idfWeighting)
        self.keyRing = keyRing
        self.store = store
        self.embedderID = embedderID
        self.recorder = recorder
    }

    /// How many decrypted embeddings the tenant's index holds.
    public func count(tenant: TenantID) async -> Int { await vectors.count(tenant: tenant) }

    /// Drops every decrypted embedding and prepared DEK from memory (the key set changed or the lease was lost).
    public func clear() async {
        await vectors.clear()
        await keyRing.forgetPreparedDEKs()
    }

    /// Drops everything decrypted when no valid lease is held.
    public func clearIfLeaseLost() async {
        if await !keyRing.isReady() { await clear() }
    }

    /// Adds (or replaces) a stored document's embeddings.
    func upsert(tenant: TenantID, collection: CollectionName, documentID: DocumentID, entries: [IndexEntry]) async {
        await vectors.upsert(tenant: tenant, collection: collection, documentID: documentID, entries: entries)
    }

    /// Removes a deleted document.
    func remove(tenant: TenantID, collection: CollectionName, documentID: DocumentID) async {
        await vectors.remove(tenant: tenant, collection: collection, documentID: documentID)
        keyRing.forget(tenant: tenant, collection: collection, document: documentID)
    }

    /// The best `topK` chunks of the request's scope and readable classes.
    func search(_ grant: RetrievalQuery, query: [Float]) async -> [IndexHit] {
        await vectors.search(tenant: grant.tenant, collections: grant.collections, classes: grant.classes, query: query, topK: grant.topK)
    }

    /// Builds the tenant's index from decrypted embeddings if it was not built under the current lease.
    /// Drops every index when the lease is gone.
    func ensure(tenant: TenantID) async throws {
        let leases = keyRing.leases
        guard await leases.isValid else {
            await clear()
            throw SealgateError(await keyRing.noLeaseReason(), "no valid key lease")
        }
        let epoch = await leases.epoch
        guard await !vectors.isBuilt(tenant: tenant, epoch: epoch) else { return }
        // Begun before the store is read: ingests and deletes from here on are replayed over the result.
        let ticket = await vectors.beginBuild(tenant: tenant)
        let entries: [IndexEntry]
        do { entries = try await decryptedEntries(tenant: tenant) } catch {
            await vectors.abandon(ticket)
            throw error
        }
        // Keys changed while building: entries decrypted under the old keys must not outlive the clear that came with it.
        guard await leases.epoch == epoch, await leases.isValid else {
            await vectors.abandon(ticket)
            throw SealgateError(await leases.isValid ? .keyLeaseUnavailable : await keyRing.noLeaseReason(), "key set changed during index build")
        }
        guard await vectors.replace(ticket, entries: entries, epoch: epoch) else {
            throw SealgateError(.keyLeaseUnavailable, "the index was cleared during its build")
        }
        recorder.logger.info("tenant index built", metadata: ["tenant.id": "\(tenant)", "index.chunks": "\(entries.count)"])
    }

    /// Every stored embedding of the tenant that its leased keys open.
    func decryptedEntries(tenant: TenantID) async throws -> [IndexEntry] {
        var byKey: [String: StoredDocument] = [:]
        for document in try await store.documents(tenant: tenant) { byKey["\(document.collection)/\(document.id)"] = document }
        var ciphers: [String: DEKCipher] = [:]
        var entries: [IndexEntry] = []
        var unreadable = 0
        for chunk in try await store.chunks(tenant: tenant) {
            let key = "\(chunk.collection)/\(chunk.documentID)"
            guard let document = byKey[key], document.embedder == embedderID else { continue }
            let cipher: DEKCipher
            if let cached = ciphers[key] {
                cipher = cached
            } else {
                // Classes without a leased KEK are simply not indexed; a leased KEK that fails to unwrap is an
                // integrity failure (a moved or altered row).
                guard let kek = await keyRing.keks(document.tenant, document.dataClass)?.first(where: { $0.version == document.dekVersion })
                else { continue }
                guard let unwrapped = try? Envelope.unwrap(document.wrappedDEK, kek: kek.key, context: document.dekContext()),
                    let prepared = try? DEKCipher(dek: unwrapped)
                else {
                    unreadable += 1
                    continue
                }
                ciphers[key] = prepared
                cipher = prepared
            }
            let context = document.contentContext.with(field: .embedding, chunkIndex: chunk.index)
            guard let opened = try? cipher.open(chunk.sealedEmbedding, context: context),
                let vector = try? Envelope.decodeVector(opened)
            else {
                unreadable += 1
                continue
            }
            entries.append(
                IndexEntry(
                    collection: chunk.collection, documentID: chunk.documentID, chunkIndex: chunk.index,
                    dataClass: document.dataClass, vector: vector))
        }
        if unreadable > 0 { recorder.integrityFailures(unreadable, tenant: tenant, requestID: "index-build") }
        return entries
    }
}

/// What a search may see: one tenant, some collections, some classes.
struct RetrievalQuery: Sendable {
    let tenant: TenantID
    let collections: [CollectionName]
    let classes: Set<DataClass>
    let topK: Int
}
