import Crypto
import Foundation
import Logging
import Retrieval
import SealgateCore
import Sealing
import Synchronization

/// The in-memory index of each tenant's embeddings (int8 codes and HNSW graphs per collection × class, see
/// docs/retrieval.md): built lazily under the current lease epoch from sealed snapshots and the store, kept
/// current by ingest and delete, and dropped with the keys. Candidates are rescored from the sealed
/// full-precision embeddings, opened per query.
public final class TenantIndex: Sendable {
    let vectors: VectorIndex
    let keyRing: KeyRing
    let store: any DocumentStore
    public let embedderID: String
    let recorder: OutcomeRecorder
    /// Where sealed snapshots are kept; `nil`: every build decrypts every embedding.
    let snapshots: (any IndexSnapshotStore)?
    /// The highest snapshot epoch seen or written per key (the next snapshot of a key takes the next number).
    let snapshotEpochs = Mutex<[IndexSnapshotKey: UInt64]>([:])
    /// One writer per snapshot key (``snapshotLock(_:)``): a build's or a measured width's write and the re-wrap's
    /// read-then-write of the same key never interleave, so the re-wrap of an older snapshot cannot replace a newer one.
    let snapshotLocks = Mutex<[IndexSnapshotKey: AsyncMutex]>([:])
    /// Per tenant and collection, the stored documents recorded with another embedder than ``embedderID``: never
    /// indexed, and a query whose scope includes their collection is refused (`embedder_mismatch`) until they are
    /// re-ingested or deleted. Found at each build; an upsert or delete of the document clears it.
    let foreign = Mutex<[TenantID: [CollectionName: Set<DocumentID>]]>([:])
    /// The build under way per tenant (``sharedBuild(tenant:epoch:)``): its lease epoch, a token naming it, the task.
    let buildsInFlight = Mutex<[TenantID: (epoch: Int, token: Int, task: Task<Bool, any Error>)]>([:])
    let nextBuildToken = Atomic<Int>(0)

    /// Creates an empty index.
    public init(
        dimensions: Int, idfWeighting: Bool, embedderID: String, keyRing: KeyRing, store: any DocumentStore, recorder: OutcomeRecorder,
        snapshots: (any IndexSnapshotStore)? = nil, options: IndexOptions = .sealed
    ) {
        self.vectors = VectorIndex(dimensions: dimensions, idfWeighting: idfWeighting, options: options)
        self.keyRing = keyRing
        self.store = store
        self.embedderID = embedderID
        self.recorder = recorder
        self.snapshots = snapshots
        if snapshots != nil {
            let settled = vectors.settledWidths
            Task { [weak self] in
                for await width in settled {
                    guard let self else { return }
                    await self.sealMeasuredWidth(width)
                }
            }
        }
    }

    /// How many embeddings the tenant's index holds.
    public func count(tenant: TenantID) async -> Int { await vectors.count(tenant: tenant) }

    /// Approximate bytes the tenant's index holds in memory.
    public func memoryBytes(tenant: TenantID) async -> Int { await vectors.memoryBytes(tenant: tenant) }

    /// Drops every decrypted embedding and prepared DEK from memory (the key set changed or the lease was lost).
    public func clear() async {
        await vectors.clear()
        await keyRing.forgetPreparedDEKs()
    }

    /// Marks a tenant's index stale because its documents changed elsewhere (another gateway replica on the same
    /// database): the next query rebuilds it from sealed snapshots and the store.
    /// A tenant this gateway does not serve is ignored: the notification's tenant id comes from the database, and
    /// each distinct id would otherwise be remembered for the process's life.
    public func invalidate(tenant: TenantID) async {
        guard keyRing.tenants.contains(tenant) else { return }
        await vectors.invalidate(tenant: tenant)
    }

    /// Marks every tenant's index stale (change notifications may have been missed).
    public func invalidateAll() async { await vectors.invalidateAll() }

    /// Drops everything decrypted when no valid lease is held.
    public func clearIfLeaseLost() async {
        if await !keyRing.isReady() { await clear() }
    }

    /// Adds (or replaces) a stored document's embeddings.
    func upsert(tenant: TenantID, collection: CollectionName, documentID: DocumentID, entries: [IndexEntry]) async {
        await vectors.upsert(tenant: tenant, collection: collection, documentID: documentID, entries: entries)
        forgetForeign(tenant: tenant, collection: collection, documentID: documentID)
    }

    /// The collections among `collections` that hold documents of another embedder (sorted).
    func foreignCollections(tenant: TenantID, among collections: [CollectionName]) -> [CollectionName] {
        foreign.withLock { map in collections.filter { !(map[tenant]?[$0]?.isEmpty ?? true) }.sorted() }
    }

    private func forgetForeign(tenant: TenantID, collection: CollectionName, documentID: DocumentID) {
        foreign.withLock { _ = $0[tenant]?[collection]?.remove(documentID) }
    }

    /// Removes a deleted document.
    func remove(tenant: TenantID, collection: CollectionName, documentID: DocumentID) async {
        await vectors.remove(tenant: tenant, collection: collection, documentID: documentID)
        forgetForeign(tenant: tenant, collection: collection, documentID: documentID)
        keyRing.forget(tenant: tenant, collection: collection, document: documentID)
    }

    /// The best `topK` chunks of the request's scope and readable classes, rescored from their sealed embeddings.
    /// - Throws: ``SealgateError`` when the store fails or a candidate's embedding fails authentication.
    /// `read`, if given, keeps the store rows of the rescored candidates, so the caller opens the hits without reading
    /// them again.
    /// A renewal that changes the key set clears every index; a question that made sure of its index just before
    /// (``ensure(tenant:)``) and searches after that clear builds again and searches that, rather than answering
    /// "nothing matches" (a rotation or a retirement landing mid-question gave answers without context).
    /// - Throws: also `key_lease_unavailable` when the index is cleared under every build attempt.
    func search(_ grant: RetrievalQuery, query: [Float], read: RowsRead? = nil) async throws -> [IndexHit] {
        let tenant = grant.tenant
        for attempt in 1...Self.buildAttempts {
            if attempt > 1 { try await ensure(tenant: tenant) }
            if let hits = try await vectors.searchInstalled(
                tenant: tenant, collections: grant.collections, classes: grant.classes, query: query, topK: grant.topK,
                vectors: { refs in try await self.fullVectors(tenant: tenant, refs, read: read) })
            {
                return hits
            }
        }
        throw SealgateError(.keyLeaseUnavailable, "the tenant index was replaced under every search")
    }

    /// The full-precision embeddings of candidates, opened from the store in one batched read (`nil` for a chunk gone
    /// or moved since, or whose document is now of another class or embedder).
    func fullVectors(tenant: TenantID, _ refs: [ChunkRef], read: RowsRead? = nil) async throws -> [[Float]?] {
        let found = try await store.chunks(tenant: tenant, at: refs.map(\.location))
        read?.add(found)
        let rows = refs.map { ref in
            found[ref.location].flatMap { $0.document.dataClass == ref.dataClass && $0.document.embedder == embedderID ? $0 : nil }
        }
        let ciphers = try await keyRing.ciphers(for: rows.compactMap { $0?.document })
        var out: [[Float]?] = []
        out.reserveCapacity(refs.count)
        for row in rows {
            guard let row, let cipher = ciphers[KeyRing.documentKey(row.document)] else {
                out.append(nil)
                continue
            }
            let plain = try cipher.open(
                row.chunk.sealedEmbedding, context: row.document.contentContext.with(field: .embedding, chunkIndex: row.chunk.index))
            out.append(try Envelope.decodeVector(plain))
        }
        return out
    }

    /// Builds the tenant's index from decrypted embeddings if it was not built under the current lease.
    /// Drops every index when the lease is gone.
    func ensure(tenant: TenantID) async throws {
        let leases = keyRing.leases
        // The published lease while it is valid; otherwise the actor answers.
        var valid = leases.isValidNow
        if !valid { valid = await leases.isValid }
        guard valid else {
            await clear()
            throw SealgateError(await keyRing.noLeaseReason(), "no valid key lease")
        }
        // A renewal that changes the key set while the index is being built (a rotation or retirement landing just
        // then) voids that build; the request builds again under the new keys rather than failing, a few times at most.
        for attempt in 1...Self.buildAttempts {
            let epoch = leases.publishedEpoch
            guard await !vectors.isBuilt(tenant: tenant, epoch: epoch) else { return }
            let completed = try await sharedBuild(tenant: tenant, epoch: epoch)
            if completed { return }
            guard attempt < Self.buildAttempts, await leases.isValid else { break }
        }
        throw SealgateError(await leases.isValid ? .keyLeaseUnavailable : await keyRing.noLeaseReason(), "key set changed during index build")
    }

    /// Builds a request makes before it is refused because the key set kept changing under them.
    static let buildAttempts = 3

    /// The build of a tenant's index under `epoch`, shared: every request that finds the index missing while it runs
    /// waits for the same build rather than starting its own (after a restart or a new key set, a burst of questions
    /// to a large tenant would otherwise load or decrypt every embedding once per question, at once). A build loads
    /// or decrypts every embedding of the tenant (seconds for a large one): it runs in a task of its own on the
    /// cooperative pool, never on a task executor the request that found the index missing prefers (an event loop,
    /// say), and a request that gives up does not cancel it for the others.
    func sharedBuild(tenant: TenantID, epoch: Int) async throws -> Bool {
        let task = buildsInFlight.withLock { running -> Task<Bool, any Error> in
            if let current = running[tenant], current.epoch == epoch { return current.task }
            let token = nextBuildToken.add(1, ordering: .relaxed).newValue
            let task = Task.detached(priority: Task.currentPriority) { [self] () throws -> Bool in
                defer { buildsInFlight.withLock { if $0[tenant]?.token == token { $0[tenant] = nil } } }
                return try await build(tenant: tenant, epoch: epoch)
            }
            running[tenant] = (epoch, token, task)
            return task
        }
        return try await task.value
    }

    /// Builds the tenant's index under `epoch` (``ensure(tenant:)`` found it missing); false when the key set changed
    /// while it was built (nothing of it is kept).
    private func build(tenant: TenantID, epoch: Int) async throws -> Bool {
        let leases = keyRing.leases
        // Begun before the store is read: ingests and deletes from here on are replayed over the result.
        let ticket = await vectors.beginBuild(tenant: tenant)
        let built: Assembled
        do { built = try await assemble(tenant: tenant, epoch: epoch) } catch {
            await vectors.abandon(ticket)
            throw error
        }
        // Keys changed while building: entries decrypted under the old keys must not outlive the clear that came with it.
        guard await leases.epoch == epoch, await leases.isValid else {
            await vectors.abandon(ticket)
            return false
        }
        // Cleared during the build (the keys changed after the check above): built again under the new ones.
        guard await vectors.replace(ticket, loaded: built.loaded, entries: built.entries, epoch: epoch) else { return false }
        var others: [CollectionName: Set<DocumentID>] = [:]
        for document in try await store.documents(tenant: tenant) where document.embedder != embedderID {
            others[document.collection, default: []].insert(document.id)
        }
        foreign.withLock { $0[tenant] = others }
        let chunks = await vectors.count(tenant: tenant)
        recorder.logger.info(
            "tenant index built",
            metadata: [
                "tenant.id": "\(tenant)", "index.chunks": "\(chunks)",
                "index.snapshot_chunks": "\(built.loaded.values.reduce(0) { $0 + $1.count })", "index.decrypted_chunks": "\(built.entries.count)",
            ])
        if !built.dirty.isEmpty { await saveSnapshots(tenant: tenant, keys: built.dirty, epoch: epoch) }
        return true
    }

    /// A stored document version's tag: the first 16 bytes of SHA-256 over its sealed title (a fresh nonce per
    /// store, unchanged by a DEK re-wrap), chunk count and creation time. A snapshot's document whose tag differs
    /// from the store's is re-read.
    static func versionTag(_ document: StoredDocument) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: document.sealedTitle)
        hasher.update(data: Data("\(document.chunkCount)/\(document.createdAt.timeIntervalSince1970)".utf8))
        return Array(hasher.finalize().prefix(16))
    }

    /// Every stored embedding of the tenant that its leased keys open, or of `only` those documents.
    func decryptedEntries(tenant: TenantID, only: [StoredDocument]? = nil) async throws -> [IndexEntry] {
        var byKey: [String: StoredDocument] = [:]
        let documents: [StoredDocument]
        if let only { documents = only } else { documents = try await store.documents(tenant: tenant) }
        for document in documents { byKey["\(document.collection)/\(document.id)"] = document }
        var chunks: [StoredChunk] = []
        if let only {
            for document in only { chunks += try await store.chunks(tenant: tenant, collection: document.collection, documentID: document.id) }
        } else {
            chunks = try await store.chunks(tenant: tenant)
        }
        var ciphers: [String: DEKCipher] = [:]
        var entries: [IndexEntry] = []
        var unreadable = 0
        for chunk in chunks {
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
                    dataClass: document.dataClass, vector: vector, version: Self.versionTag(document)))
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

extension ChunkRef {
    /// Where the chunk is in the store.
    var location: ChunkLocation { ChunkLocation(collection: collection, documentID: documentID, index: chunkIndex) }
}
