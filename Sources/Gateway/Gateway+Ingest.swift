import Crypto
import Foundation
import Retrieval
import SealgateConfig
import SealgateCore
import Sealing

/// A document to ingest, as the API receives it.
public struct IngestRequest: Sendable {
    public var id: DocumentID?
    public var title: String
    public var text: String
    public var dataClass: String
    public var metadata: [String: String]

    public init(id: DocumentID?, title: String, text: String, dataClass: String, metadata: [String: String] = [:]) {
        self.id = id
        self.title = title
        self.text = text
        self.dataClass = dataClass
        self.metadata = metadata
    }
}

/// What ingestion stored.
public struct IngestResult: Sendable {
    public let id: DocumentID
    public let collection: CollectionName
    public let dataClass: DataClass
    public let chunks: Int
    public let kekVersion: Int
    public let auditIndex: UInt64
}

/// A document as listed (title decrypted in memory).
public struct DocumentSummary: Sendable {
    public let id: DocumentID
    public let title: String
    public let dataClass: DataClass
    public let chunks: Int
    public let createdAt: Date
}

extension Gateway {
    /// Chunks, embeds, seals and stores a document. Nothing is stored unless every step succeeded.
    public func ingest(
        _ request: IngestRequest, collection: CollectionName, principal: Principal, grants: PrincipalSettings,
        requestID: String
    ) async -> Result<IngestResult, GatewayFailure> {
        func fail(_ code: ReasonCode, _ detail: String, rule: String? = nil) async -> Result<IngestResult, GatewayFailure> {
            .failure(await deny(Denial(code, detail), kind: "ingest", requestID: requestID, principal: principal, dataClass: request.dataClass, rule: rule))
        }
        guard grants.mayWrite(collection) else {
            return await fail(.writeNotPermitted, "You may not write to this collection.", rule: "principals.write")
        }
        guard let dataClass = DataClass(request.dataClass), config.dataClass(dataClass) != nil else {
            return await fail(.unknownDataClass, "The data class is not defined.")
        }
        guard grants.mayUse(dataClass) else {
            return await fail(.dataClassNotPermitted, "You may not use this data class.", rule: "principals.data_classes")
        }
        guard !request.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return await fail(.emptyDocument, "The document text is empty.")
        }
        guard request.text.utf8.count <= config.retrieval.maxDocumentBytes else {
            return await fail(.bodyTooLarge, "The document exceeds retrieval.max_document_bytes.")
        }
        let embedderSettings = config.retrieval.embedder
        if embedderSettings.type == .openai && !embedderSettings.allowedDataClasses.contains(dataClass) {
            return await fail(.modelNotPermitted, "The configured embedder may not see this data class.", rule: "retrieval.embedder.allowed_data_classes")
        }
        guard let kek = await keks(principal.tenant, dataClass)?.last else {
            await clearIndexIfLeaseLost()
            let reason = await isReady() ? ReasonCode.releaseDenied : await noLeaseReason()
            return await fail(reason, "No key lease is held for this tenant and data class (\(reason.rawValue)).")
        }
        let id = request.id ?? DocumentID(unchecked: Gateway.newRequestID())
        let pieces = chunker.chunks(of: request.text)
        let vectors: [[Float]]
        do { vectors = try await deps.embedder.embed(pieces) } catch {
            return await fail(.embedderUnavailable, "The embedder failed.")
        }
        let base = SealingContext(
            tenant: principal.tenant, collection: collection, documentID: id, chunkIndex: nil, dataClass: dataClass,
            kekVersion: kek.version, field: .dek)
        let stored: StoredDocument
        var chunks: [StoredChunk] = []
        do {
            let dek = Envelope.makeDEK()
            let cipher = try DEKCipher(dek: dek)
            let metadata = try JSONEncoder().encode(request.metadata)
            stored = StoredDocument(
                tenant: principal.tenant, collection: collection, id: id, dataClass: dataClass, kekVersion: kek.version,
                wrappedDEK: try Envelope.wrap(dek: dek, kek: kek.key, context: base),
                sealedTitle: try cipher.seal(Data(request.title.utf8), context: base.with(field: .title)),
                sealedMetadata: try cipher.seal(metadata, context: base.with(field: .metadata)),
                chunkCount: pieces.count, embedder: deps.embedder.identifier, createdAt: deps.now())
            for (i, piece) in pieces.enumerated() {
                chunks.append(
                    StoredChunk(
                        tenant: principal.tenant, collection: collection, documentID: id, index: i,
                        sealedText: try cipher.seal(Data(piece.utf8), context: base.with(field: .text, chunkIndex: i)),
                        sealedEmbedding: try cipher.seal(
                            Envelope.encode(vector: vectors[i]), context: base.with(field: .embedding, chunkIndex: i))))
            }
        } catch {
            return await fail(.internalError, "The document could not be sealed.")
        }
        // Record first, then write: a change the audit log does not know about never happens.
        var record = AuditRecord(
            kind: "ingest", time: deps.now(), requestID: requestID, tenant: principal.tenant.rawValue,
            principal: principal.id.rawValue, outcome: "allowed")
        record.dataClass = dataClass.rawValue
        record.scopeDigest = await auditDigest([collection.rawValue], tenant: principal.tenant)
        record.chunkIDsDigest = await auditDigest((0..<pieces.count).map { "\(collection)/\(id)#\($0)" }, tenant: principal.tenant)
        record.chunkCount = pieces.count
        record.keyIDs = [kek.keyID]
        record.rule = "principals.write"
        let auditIndex: UInt64
        switch await commit(record) {
        case .failure(let failure): return .failure(failure)
        case .success(let index): auditIndex = index
        }
        do { try await deps.store.put(stored, chunks: chunks) } catch {
            return await fail(.storeUnavailable, "The document could not be stored.")
        }
        await index.upsert(
            tenant: principal.tenant, collection: collection, documentID: id,
            entries: vectors.enumerated().map {
                IndexEntry(collection: collection, documentID: id, chunkIndex: $0.offset, dataClass: dataClass, vector: $0.element)
            })
        return .success(
            IngestResult(id: id, collection: collection, dataClass: dataClass, chunks: pieces.count, kekVersion: kek.version, auditIndex: auditIndex))
    }

    /// Lists a collection's documents whose class the principal may use, titles decrypted in memory.
    public func list(collection: CollectionName, principal: Principal, grants: PrincipalSettings, requestID: String) async
        -> Result<(documents: [DocumentSummary], auditIndex: UInt64), GatewayFailure>
    {
        guard grants.mayRead(collection) else {
            return .failure(await deny(Denial(.scopeNotPermitted, "You may not read this collection."), kind: "list", requestID: requestID, principal: principal, rule: "principals.read"))
        }
        guard await deps.leases.isValid else {
            await clearIndexIfLeaseLost()
            return .failure(await deny(Denial(.keyLeaseUnavailable, "No key lease is held."), kind: "list", requestID: requestID, principal: principal))
        }
        do {
            var out: [DocumentSummary] = []
            var unreadable = 0
            for document in try await deps.store.documents(tenant: principal.tenant, collection: collection)
            where grants.mayUse(document.dataClass) {
                // A class whose KEK is not leased (for example refused by its release policy) cannot be shown.
                guard await keks(document.tenant, document.dataClass) != nil else { continue }
                let title: Data
                do {
                    let cipher = try await self.cipher(for: document)
                    title = try cipher.open(document.sealedTitle, context: Self.context(document).with(field: .title))
                } catch let error as SealgateError where error.code == .integrityFailure {
                    // A row that does not authenticate in this place was moved or altered: never shown, always reported.
                    unreadable += 1
                    continue
                }
                out.append(
                    DocumentSummary(
                        id: document.id, title: String(decoding: title, as: UTF8.self), dataClass: document.dataClass,
                        chunks: document.chunkCount, createdAt: document.createdAt))
            }
            if unreadable > 0 { reportIntegrityFailures(unreadable, tenant: principal.tenant, requestID: requestID) }
            var record = AuditRecord(kind: "list", time: deps.now(), requestID: requestID, tenant: principal.tenant.rawValue, principal: principal.id.rawValue, outcome: "allowed")
            record.scopeDigest = await auditDigest([collection.rawValue], tenant: principal.tenant)
            record.chunkCount = out.count
            switch await commit(record) {
            case .failure(let failure): return .failure(failure)
            case .success(let index): return .success((out, index))
            }
        } catch let error as SealgateError {
            return .failure(await deny(Denial(error.code, "The collection could not be listed."), kind: "list", requestID: requestID, principal: principal))
        } catch {
            return .failure(await deny(Denial(.internalError, "The collection could not be listed."), kind: "list", requestID: requestID, principal: principal))
        }
    }

    /// Deletes a document of the principal's tenant.
    public func delete(id: DocumentID, collection: CollectionName, principal: Principal, grants: PrincipalSettings, requestID: String) async
        -> Result<UInt64, GatewayFailure>
    {
        guard grants.mayWrite(collection) else {
            return .failure(await deny(Denial(.writeNotPermitted, "You may not write to this collection."), kind: "delete", requestID: requestID, principal: principal, rule: "principals.write"))
        }
        let existing: StoredDocument?
        do { existing = try await deps.store.document(tenant: principal.tenant, collection: collection, id: id) } catch {
            return .failure(await deny(Denial(.storeUnavailable, "The store failed."), kind: "delete", requestID: requestID, principal: principal))
        }
        guard let existing else {
            return .failure(await deny(Denial(.documentNotFound, "No such document."), kind: "delete", requestID: requestID, principal: principal))
        }
        var record = AuditRecord(kind: "delete", time: deps.now(), requestID: requestID, tenant: principal.tenant.rawValue, principal: principal.id.rawValue, outcome: "allowed")
        record.dataClass = existing.dataClass.rawValue
        record.scopeDigest = await auditDigest([collection.rawValue], tenant: principal.tenant)
        record.chunkIDsDigest = await auditDigest(["\(collection)/\(id)"], tenant: principal.tenant)
        let auditIndex: UInt64
        switch await commit(record) {
        case .failure(let failure): return .failure(failure)
        case .success(let index): auditIndex = index
        }
        do { _ = try await deps.store.delete(tenant: principal.tenant, collection: collection, id: id) } catch {
            return .failure(await deny(Denial(.storeUnavailable, "The store failed."), kind: "delete", requestID: requestID, principal: principal))
        }
        await index.remove(tenant: principal.tenant, collection: collection, documentID: id)
        dekCache.remove(tenant: principal.tenant, collection: collection, document: id)
        return .success(auditIndex)
    }
}

extension Gateway {
    /// Whether a document exists (metadata lookup only; used by idempotent seeding).
    public func hasDocument(tenant: TenantID, collection: CollectionName, id: DocumentID) async -> Bool {
        ((try? await deps.store.document(tenant: tenant, collection: collection, id: id)) ?? nil) != nil
    }
}

extension Gateway {
    /// Logs and counts stored values that failed authentication (moved or altered ciphertext).
    func reportIntegrityFailures(_ count: Int, tenant: TenantID, requestID: String) {
        deps.logger.warning(
            "stored ciphertext failed authentication",
            metadata: ["tenant.id": "\(tenant)", "request.id": "\(requestID)", "integrity.failures": "\(count)"])
        deps.metrics.increment("sealgate_integrity_failures_total", labels: [("tenant", tenant.rawValue)], by: count)
    }
}

extension Gateway {
    /// How many decrypted embeddings the tenant's in-memory index holds.
    public func indexedChunks(tenant: TenantID) async -> Int { await index.count(tenant: tenant) }

    /// Drops every decrypted embedding from memory (the lease was lost).
    public func clearIndex() async {
        await index.clear()
        dekCache.clear(below: await deps.leases.epoch)
    }

    /// Drops every decrypted embedding from memory when no valid lease is held.
    public func clearIndexIfLeaseLost() async {
        if await !deps.leases.isValid { await clearIndex() }
    }
}
