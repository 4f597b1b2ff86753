import AccessPolicy
import Foundation
import KeyLease
import Retrieval
import SealgateCore
import Sealing

extension DocumentService {
    /// Chunks, embeds, seals and stores a document. Nothing is stored unless every step succeeded, and nothing
    /// is stored that the audit log does not know about.
    public func ingest(_ request: IngestRequest, collection: CollectionName, caller: Caller, requestID: String) async
        -> Result<IngestResult, GatewayFailure>
    {
        let principal = caller.principal
        func fail(_ code: ReasonCode, _ detail: String, rule: String? = nil) async -> Result<IngestResult, GatewayFailure> {
            .failure(
                await recorder.deny(
                    Refusal(Denial(code, detail), kind: .ingest, requestID: requestID, principal: principal, dataClass: request.dataClass, rule: rule)))
        }
        let dataClass: DataClass
        switch policy.decide(caller.grants, IngestAccess(collection: collection, dataClass: request.dataClass, text: request.text)) {
        case .deny(let denial): return await fail(denial.reason, denial.detail, rule: denial.rule.auditName)
        case .allow(let allowed, _): dataClass = allowed
        }
        guard let kek = await keyRing.keks(principal.tenant, dataClass)?.last else {
            await index.clearIfLeaseLost()
            let reason = await keyRing.missingKeyReason()
            return await fail(reason, "No key lease is held for this tenant and data class (\(reason.rawValue)).")
        }
        // Re-ingesting an id replaces that document: only one of a class the principal may use (a hidden document of
        // another class is neither overwritten nor moved into a class it can read).
        var existing: StoredDocument?
        if let given = request.id {
            do { existing = try await store.document(tenant: principal.tenant, collection: collection, id: given) } catch {
                return await fail(.storageUnavailable, "The store failed.")
            }
            if let existing, !caller.grants.mayUse(existing.dataClass) {
                return await fail(.writeNotPermitted, "A document with this id exists that this principal may not replace.")
            }
        }
        let id = request.id ?? DocumentID(unchecked: OutcomeRecorder.newRequestID())
        let pieces = chunker.chunks(of: request.text)
        if let limit = policy.table.maxChunksPerTenant {
            // Before anything is embedded. Ingests running at once each see the count before the others' writes, so
            // the limit can be passed by what they add together (a bound on memory, not an exact quota).
            let held: Int
            do { held = try await store.chunkCount(tenant: principal.tenant) } catch { return await fail(.storageUnavailable, "The store failed.") }
            let after = held - (existing?.chunkCount ?? 0) + pieces.count
            if after > limit {
                return await fail(
                    // The count is not named: a writer of one collection would learn of documents it may not see.
                    .quotaExceeded, "This document's \(pieces.count) chunks would take the tenant past retrieval.max_chunks_per_tenant (\(limit)).",
                    rule: "retrieval.max_chunks_per_tenant")
            }
        }
        let vectors: [[Float]]
        do { vectors = try await embedder.embed(pieces.map { Self.embeddingInput(title: request.title, chunk: $0) }) } catch {
            return await fail(.embedderUnavailable, "The embedder failed.")
        }
        let sealed: (document: StoredDocument, chunks: [StoredChunk])
        do {
            sealed = try seal(request, id: id, collection: collection, dataClass: dataClass, kek: kek, tenant: principal.tenant, pieces: pieces, vectors: vectors)
        } catch {
            return await fail(.internalError, "The document could not be sealed.")
        }
        // Record first, then write: a change the audit log does not know about never happens.
        var record = AuditRecord(
            kind: .ingest, time: recorder.now(), requestID: requestID, tenant: principal.tenant.rawValue, principal: principal.id.rawValue,
            outcome: .allowed)
        record.dataClass = dataClass.rawValue
        record.scopeDigest = await keyRing.auditDigest([collection.rawValue], tenant: principal.tenant)
        record.chunkIDsDigest = await keyRing.auditDigest((0..<pieces.count).map { "\(collection)/\(id)#\($0)" }, tenant: principal.tenant)
        record.chunkCount = pieces.count
        record.keyIDs = [kek.keyID]
        record.rule = RuleID.principalWrite.auditName
        let auditIndex: UInt64
        switch await recorder.commit(record) {
        case .failure(let failure): return .failure(failure)
        case .success(let index): auditIndex = index
        }
        // Replacing only a document of a class the principal may use, in the same step as the write: one written
        // meanwhile by someone else, of a class it may not use, stays, and this write fails.
        do { try await store.put(sealed.document, chunks: sealed.chunks, replacingOnly: Self.usableClasses(caller.grants)) } catch {
            if let existing = try? await store.document(tenant: principal.tenant, collection: collection, id: id), !caller.grants.mayUse(existing.dataClass) {
                return await fail(.writeNotPermitted, "A document with this id exists that this principal may not replace.")
            }
            return await fail(.storageUnavailable, "The document could not be stored.")
        }
        // A renewal while this document was sealed may have made a newer version current (and listed the documents
        // for its re-wrap already), or taken the key away (a shredded tenant, a retired version).
        let result = IngestResult(id: id, collection: collection, dataClass: dataClass, chunks: pieces.count, kekVersion: kek.version, auditIndex: auditIndex)
        // Replaced or deleted by another request since: the index entries are that request's to make.
        guard let version = await keyRing.rewrapIfSuperseded(sealed.document, kek: kek, store: store, recorder: recorder) else { return .success(result) }
        guard await keyRing.keks(principal.tenant, dataClass)?.contains(where: { $0.version == version }) == true else {
            // Stored under a version no longer leased, and not moved: no key this gateway holds opens it (fail closed).
            let reason = await keyRing.missingKeyReason()
            return await fail(reason, "The document was stored under a key version that is no longer leased (retired or shredded meanwhile); ingest it again.")
        }
        await index.upsert(
            tenant: principal.tenant, collection: collection, documentID: id,
            entries: vectors.enumerated().map {
                IndexEntry(
                    collection: collection, documentID: id, chunkIndex: $0.offset, dataClass: dataClass, vector: $0.element,
                    version: TenantIndex.versionTag(sealed.document))
            })
        return .success(result)
    }

    /// The data classes whose documents `grants` may replace or delete (`nil`: every class).
    static func usableClasses(_ grants: Grants) -> Set<DataClass>? {
        grants.dataClasses.contains("*") ? nil : Set(grants.dataClasses.compactMap { DataClass($0) })
    }

    /// The most characters of a title that a chunk header keeps, so the header never crowds out the chunk (MiniLM
    /// reads at most 256 word pieces; a 800-character chunk is about 175).
    public static let headerCharacters = 160

    /// What is embedded for `chunk` of a document titled `title`: a contextual chunk header — the title with runs of
    /// whitespace collapsed to one space, cut at ``headerCharacters`` — then a blank line, then the chunk, so every
    /// chunk carries what its document is about. An empty or blank title gives the chunk unchanged. Only the
    /// embedding input: the stored and cited chunk text is the chunk alone.
    public static func embeddingInput(title: String, chunk: String) -> String {
        let words = title.split(whereSeparator: \.isWhitespace)
        guard !words.isEmpty else { return chunk }
        return String(words.joined(separator: " ").prefix(headerCharacters)) + "\n\n" + chunk
    }

    /// Seals a document under a fresh DEK wrapped by the current KEK: title, metadata, and each chunk's text and embedding.
    func seal(
        _ request: IngestRequest, id: DocumentID, collection: CollectionName, dataClass: DataClass, kek: LeasedKey, tenant: TenantID,
        pieces: [String], vectors: [[Float]]
    ) throws -> (document: StoredDocument, chunks: [StoredChunk]) {
        let base = SealingContext(
            tenant: tenant, collection: collection, documentID: id, chunkIndex: nil, dataClass: dataClass, kekVersion: kek.version, field: .dek)
        let dek = Envelope.makeDEK()
        let cipher = try DEKCipher(dek: dek)
        let metadata = try JSONEncoder().encode(request.metadata)
        let document = StoredDocument(
            tenant: tenant, collection: collection, id: id, dataClass: dataClass, kekVersion: kek.version,
            wrappedDEK: try Envelope.wrap(dek: dek, kek: kek.key, context: base),
            sealedTitle: try cipher.seal(Data(request.title.utf8), context: base.with(field: .title)),
            sealedMetadata: try cipher.seal(metadata, context: base.with(field: .metadata)),
            chunkCount: pieces.count, embedder: embedder.identifier, createdAt: recorder.now())
        var chunks: [StoredChunk] = []
        for (i, piece) in pieces.enumerated() {
            chunks.append(
                StoredChunk(
                    tenant: tenant, collection: collection, documentID: id, index: i,
                    sealedText: try cipher.seal(Data(piece.utf8), context: base.with(field: .text, chunkIndex: i)),
                    sealedEmbedding: try cipher.seal(Envelope.encode(vector: vectors[i]), context: base.with(field: .embedding, chunkIndex: i))))
        }
        return (document, chunks)
    }
}
