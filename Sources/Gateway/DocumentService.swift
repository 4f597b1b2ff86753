import AccessPolicy
import Foundation
import Retrieval
import SealgateCore
import Sealing

/// Ingest, listing and deletion of a tenant's documents: each decided by the access policy, recorded before it
/// changes anything, and reflected in the tenant's index.
public struct DocumentService: Sendable {
    let policy: AccessPolicy
    let keyRing: KeyRing
    let index: TenantIndex
    let store: any DocumentStore
    let embedder: any Embedder
    let chunker: Chunker
    let recorder: OutcomeRecorder

    /// Creates the service.
    public init(
        policy: AccessPolicy, keyRing: KeyRing, index: TenantIndex, store: any DocumentStore, embedder: any Embedder,
        chunker: Chunker, recorder: OutcomeRecorder
    ) {
        self.policy = policy
        self.keyRing = keyRing
        self.index = index
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.recorder = recorder
    }

    /// Lists a collection's documents whose class the caller may use, titles decrypted in memory.
    public func list(collection: CollectionName, caller: Caller, requestID: String) async
        -> Result<(documents: [DocumentSummary], auditIndex: UInt64), GatewayFailure>
    {
        let principal = caller.principal
        func fail(_ code: ReasonCode, _ detail: String, rule: String? = nil) async -> Result<(documents: [DocumentSummary], auditIndex: UInt64), GatewayFailure> {
            .failure(await recorder.deny(Refusal(Denial(code, detail), kind: .list, requestID: requestID, principal: principal, rule: rule)))
        }
        if let denial = policy.decide(caller.grants, .read(collection)).denial {
            return await fail(denial.reason, denial.detail, rule: denial.rule.auditName)
        }
        guard await keyRing.isReady() else {
            await index.clearIfLeaseLost()
            let reason = await keyRing.noLeaseReason()
            return await fail(reason, "No key lease is held (\(reason.rawValue)).")
        }
        do {
            var out: [DocumentSummary] = []
            var unreadable = 0
            for document in try await store.documents(tenant: principal.tenant, collection: collection)
            where caller.grants.mayUse(document.dataClass) {
                // A class whose KEK is not leased (for example refused by its release policy) cannot be shown.
                guard await keyRing.keks(document.tenant, document.dataClass) != nil else { continue }
                let title: Data
                do {
                    let cipher = try await keyRing.cipher(for: document)
                    title = try cipher.open(document.sealedTitle, context: document.contentContext.with(field: .title))
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
            if unreadable > 0 { recorder.integrityFailures(unreadable, tenant: principal.tenant, requestID: requestID) }
            var record = AuditRecord(
                kind: .list, time: recorder.now(), requestID: requestID, tenant: principal.tenant.rawValue, principal: principal.id.rawValue,
                outcome: .allowed)
            record.scopeDigest = await keyRing.auditDigest([collection.rawValue], tenant: principal.tenant)
            record.chunkCount = out.count
            switch await recorder.commit(record) {
            case .failure(let failure): return .failure(failure)
            case .success(let index): return .success((out, index))
            }
        } catch let error as SealgateError {
            return await fail(error.code, "The collection could not be listed.")
        } catch {
            return await fail(.internalError, "The collection could not be listed.")
        }
    }

    /// What ``collections(caller:requestID:)`` answers: `(name, documents)` sorted by name, and the audit index.
    public typealias CollectionsResult = Result<(collections: [(name: CollectionName, documents: Int)], auditIndex: UInt64), GatewayFailure>

    /// The collections of the caller's tenant that it may read, by name, each with the number of documents of the
    /// classes it may use. Reads metadata only, but like ``list(collection:caller:requestID:)`` it needs the key
    /// lease: the `list` audit record's scope digest over the names returned is keyed by the tenant's audit salt, so
    /// names cannot be confirmed by guessing. The record's count is the documents counted.
    ///
    /// It reads the metadata row of every document of the tenant (no chunks); a store query grouped by collection
    /// and class would serve very large tenants better.
    public func collections(caller: Caller, requestID: String) async -> CollectionsResult {
        let principal = caller.principal
        func fail(_ code: ReasonCode, _ detail: String) async -> CollectionsResult {
            .failure(await recorder.deny(Refusal(Denial(code, detail), kind: .list, requestID: requestID, principal: principal)))
        }
        guard await keyRing.isReady() else {
            await index.clearIfLeaseLost()
            let reason = await keyRing.noLeaseReason()
            return await fail(reason, "No key lease is held (\(reason.rawValue)).")
        }
        do {
            var counts: [CollectionName: Int] = [:]
            for document in try await store.documents(tenant: principal.tenant)
            where caller.grants.mayUse(document.dataClass) && policy.decide(caller.grants, .read(document.collection)).denial == nil {
                counts[document.collection, default: 0] += 1
            }
            let collections = counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { (name: $0.key, documents: $0.value) }
            var record = AuditRecord(
                kind: .list, time: recorder.now(), requestID: requestID, tenant: principal.tenant.rawValue, principal: principal.id.rawValue,
                outcome: .allowed)
            record.scopeDigest = await keyRing.auditDigest(collections.map(\.name.rawValue), tenant: principal.tenant)
            record.chunkCount = collections.reduce(0) { $0 + $1.documents }
            switch await recorder.commit(record) {
            case .failure(let failure): return .failure(failure)
            case .success(let index): return .success((collections, index))
            }
        } catch let error as SealgateError {
            return await fail(error.code, "The collections could not be listed.")
        } catch {
            return await fail(.internalError, "The collections could not be listed.")
        }
    }

    /// Deletes a document of the caller's tenant.
    public func delete(id: DocumentID, collection: CollectionName, caller: Caller, requestID: String) async -> Result<UInt64, GatewayFailure> {
        let principal = caller.principal
        func fail(_ code: ReasonCode, _ detail: String, rule: String? = nil) async -> Result<UInt64, GatewayFailure> {
            .failure(await recorder.deny(Refusal(Denial(code, detail), kind: .delete, requestID: requestID, principal: principal, rule: rule)))
        }
        if let denial = policy.decide(caller.grants, .write(collection)).denial {
            return await fail(denial.reason, denial.detail, rule: denial.rule.auditName)
        }
        let existing: StoredDocument?
        do { existing = try await store.document(tenant: principal.tenant, collection: collection, id: id) } catch {
            return await fail(.storageUnavailable, "The store failed.")
        }
        // A document of a class the principal may not use is hidden from its listings and retrieval, so deleting it is
        // refused as if it did not exist (the same answer: no oracle; the record names no class).
        guard let existing, caller.grants.mayUse(existing.dataClass) else { return await fail(.documentNotFound, "No such document.") }
        var record = AuditRecord(
            kind: .delete, time: recorder.now(), requestID: requestID, tenant: principal.tenant.rawValue, principal: principal.id.rawValue,
            outcome: .allowed)
        record.dataClass = existing.dataClass.rawValue
        record.scopeDigest = await keyRing.auditDigest([collection.rawValue], tenant: principal.tenant)
        record.chunkIDsDigest = await keyRing.auditDigest(["\(collection)/\(id)"], tenant: principal.tenant)
        let auditIndex: UInt64
        switch await recorder.commit(record) {
        case .failure(let failure): return .failure(failure)
        case .success(let index): auditIndex = index
        }
        // Only if it is still of a class the principal may use (one replaced meanwhile by another class stays).
        do { _ = try await store.delete(tenant: principal.tenant, collection: collection, id: id, onlyOf: Self.usableClasses(caller.grants)) } catch {
            return await fail(.storageUnavailable, "The store failed.")
        }
        await index.remove(tenant: principal.tenant, collection: collection, documentID: id)
        return .success(auditIndex)
    }

    /// Whether a document exists (metadata lookup only; used by idempotent seeding).
    public func hasDocument(tenant: TenantID, collection: CollectionName, id: DocumentID) async -> Bool {
        ((try? await store.document(tenant: tenant, collection: collection, id: id)) ?? nil) != nil
    }
}
