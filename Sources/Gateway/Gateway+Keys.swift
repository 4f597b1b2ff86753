import Crypto
import Foundation
import KeyBroker
import KeyLease
import Retrieval
import SealgateCore
import Sealing

extension Gateway {
    /// The leased KEK versions of a tenant × class, or `nil` without a valid lease.
    func keks(_ tenant: TenantID, _ dataClass: DataClass) async -> [LeasedKey]? {
        await deps.leases.keys(for: ResourcePath(tenant: tenant, dataClass: dataClass))
    }

    /// Unwraps a stored document's DEK with the leased KEK of its class and version.
    func dek(for document: StoredDocument) async throws -> SymmetricKey {
        guard let keys = await keks(document.tenant, document.dataClass),
            let kek = keys.first(where: { $0.version == document.kekVersion })
        else { throw SealgateError(.keyLeaseUnavailable, "no leased KEK for the document's class and version") }
        return try Envelope.unwrap(document.wrappedDEK, kek: kek.key, context: Self.context(document))
    }

    static func context(_ d: StoredDocument) -> SealingContext {
        SealingContext(
            tenant: d.tenant, collection: d.collection, documentID: d.id, chunkIndex: nil, dataClass: d.dataClass,
            kekVersion: d.kekVersion, field: .dek)
    }

    /// Builds the tenant's in-memory index from decrypted embeddings if it was not built under the current lease.
    /// Drops every index when the lease is gone.
    func ensureIndex(tenant: TenantID) async throws {
        guard await deps.leases.isValid else {
            await index.clear()
            throw SealgateError(.keyLeaseUnavailable, "no valid key lease")
        }
        let epoch = await deps.leases.epoch
        guard await !index.isBuilt(tenant: tenant, epoch: epoch) else { return }
        let documents = try await deps.store.documents(tenant: tenant)
        var byKey: [String: StoredDocument] = [:]
        for document in documents { byKey["\(document.collection)/\(document.id)"] = document }
        var deks: [String: SymmetricKey] = [:]
        var entries: [IndexEntry] = []
        var unreadable = 0
        for chunk in try await deps.store.chunks(tenant: tenant) {
            let key = "\(chunk.collection)/\(chunk.documentID)"
            guard let document = byKey[key], document.embedder == deps.embedder.identifier else { continue }
            let dek: SymmetricKey
            if let cached = deks[key] {
                dek = cached
            } else {
                // Classes without a leased KEK are simply not indexed; a leased KEK that fails to unwrap is an
                // integrity failure (a moved or altered row).
                guard let kek = await keks(document.tenant, document.dataClass)?.first(where: { $0.version == document.kekVersion })
                else { continue }
                guard let unwrapped = try? Envelope.unwrap(document.wrappedDEK, kek: kek.key, context: Self.context(document)) else {
                    unreadable += 1
                    continue
                }
                deks[key] = unwrapped
                dek = unwrapped
            }
            let context = Self.context(document).with(field: .embedding, chunkIndex: chunk.index)
            guard let opened = try? Envelope.open(chunk.sealedEmbedding, key: dek, context: context),
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
        if unreadable > 0 { reportIntegrityFailures(unreadable, tenant: tenant, requestID: "index-build") }
        await index.replace(tenant: tenant, entries: entries, epoch: epoch)
        deps.logger.info("tenant index built", metadata: ["tenant.id": "\(tenant)", "index.chunks": "\(entries.count)"])
    }
}
