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

    /// Unwraps a stored document's DEK with the leased KEK of its class and version, prepared for opening all
    /// of the document's values (one AES-GCM setup per document, kept for the lease epoch in ``dekCache``).
    func cipher(for document: StoredDocument) async throws -> DEKCipher {
        // Keys and epoch in one read: a cached DEK is served only within the epoch whose keys were just checked.
        guard let (keys, epoch) = await deps.leases.keysWithEpoch(for: ResourcePath(tenant: document.tenant, dataClass: document.dataClass)),
            let kek = keys.first(where: { $0.version == document.dekVersion })
        else { throw SealgateError(.keyLeaseUnavailable, "no leased KEK for the document's class and version") }
        let key = DEKCache.Key(
            tenant: document.tenant, collection: document.collection, document: document.id, dataClass: document.dataClass,
            version: document.dekVersion, wrapped: document.wrappedDEK)
        if let cached = dekCache.cipher(key, epoch: epoch) { return cached }
        let cipher = try DEKCipher(dek: Envelope.unwrap(document.wrappedDEK, kek: kek.key, context: Self.dekContext(document)))
        // Kept only if the key set is still the one it was unwrapped under; a clear that ran meanwhile raised the
        // cache's floor past `epoch`, so a late store is refused either way.
        if await deps.leases.epoch == epoch { dekCache.store(key, cipher, epoch: epoch) }
        return cipher
    }

    /// Why no lease is held: the broker refused attestation, the broker is unreachable, or no key was released.
    public func noLeaseReason() async -> ReasonCode {
        guard let failure = await deps.leases.lastFailure else { return .keyLeaseUnavailable }
        if failure.reason.rawValue == "broker_unavailable" { return .brokerUnavailable }
        if failure.rule == "appraisal" || failure.rule.hasPrefix("session") || failure.rule.hasPrefix("auth")
            || failure.result?.status == .contraindicated
        {
            return .attestationDenied
        }
        return .keyLeaseUnavailable
    }

    /// The context of a document's content (title, metadata, chunks): bound to the KEK version at ingest.
    static func context(_ d: StoredDocument) -> SealingContext {
        SealingContext(
            tenant: d.tenant, collection: d.collection, documentID: d.id, chunkIndex: nil, dataClass: d.dataClass,
            kekVersion: d.kekVersion, field: .dek)
    }

    /// The context of the wrapped DEK: bound to the KEK version that wraps it now.
    static func dekContext(_ d: StoredDocument, version: Int? = nil) -> SealingContext {
        SealingContext(
            tenant: d.tenant, collection: d.collection, documentID: d.id, chunkIndex: nil, dataClass: d.dataClass,
            kekVersion: version ?? d.dekVersion, field: .dek)
    }

    /// Re-wraps every DEK of the leased tenants and classes still wrapped under an older KEK version with the current
    /// one (after a rotation), so older versions can be retired. Content ciphertext is untouched. Returns how many
    /// documents were re-wrapped; each tenant's batch is audited.
    @discardableResult
    public func rewrapDEKs() async -> Int {
        let epoch = await deps.leases.epoch
        guard await deps.leases.isValid, rewrappedEpoch.withLock({ $0 }) != epoch else { return 0 }
        var total = 0
        var complete = true
        defer { if complete { rewrappedEpoch.withLock { $0 = epoch } } }
        for tenant in deps.configuration.tenants.map(\.id) {
            guard let documents = try? await deps.store.documents(tenant: tenant) else {
                complete = false
                continue
            }
            var moved: [String: Int] = [:]
            var wrappingKeys: Set<String> = []
            for document in documents {
                guard let keys = await keks(tenant, document.dataClass),
                    let current = keys.first(where: \.isCurrent) ?? keys.last, current.version > document.dekVersion
                else { continue }
                // From here the document needs moving: any failure leaves the run incomplete, so it is retried.
                guard let old = keys.first(where: { $0.version == document.dekVersion }),
                    let dek = try? Envelope.unwrap(document.wrappedDEK, kek: old.key, context: Self.dekContext(document)),
                    let wrapped = try? Envelope.wrap(dek: dek, kek: current.key, context: Self.dekContext(document, version: current.version)),
                    (try? await deps.store.rewrap(
                        tenant: tenant, collection: document.collection, id: document.id, from: document.dekVersion,
                        to: current.version, wrappedDEK: wrapped)) == true
                else {
                    complete = false
                    continue
                }
                moved[old.keyID, default: 0] += 1
                wrappingKeys.insert(current.keyID)
            }
            guard !moved.isEmpty else { continue }
            let count = moved.values.reduce(0, +)
            total += count
            var record = AuditRecord(
                kind: "rewrap", time: deps.now(), requestID: Gateway.newRequestID(), tenant: tenant.rawValue, principal: "gateway",
                outcome: "allowed")
            // keyIDs: the versions DEKs moved off, then the version that wraps them now; chunkCount: documents moved.
            record.keyIDs = moved.keys.sorted() + wrappingKeys.sorted()
            record.rule = "lease.rewrap"
            record.policyDigest = policyDigest
            record.dataClass = nil
            record.chunkCount = count
            _ = try? await deps.audit.append(record)
            deps.logger.info("re-wrapped DEKs under the current KEK", metadata: ["tenant.id": "\(tenant)", "rewrap.documents": "\(count)"])
        }
        return total
    }

    /// Builds the tenant's in-memory index from decrypted embeddings if it was not built under the current lease.
    /// Drops every index when the lease is gone.
    func ensureIndex(tenant: TenantID) async throws {
        guard await deps.leases.isValid else {
            await index.clear()
            dekCache.clear(below: await deps.leases.epoch)
            throw SealgateError(await noLeaseReason(), "no valid key lease")
        }
        let epoch = await deps.leases.epoch
        guard await !index.isBuilt(tenant: tenant, epoch: epoch) else { return }
        let documents = try await deps.store.documents(tenant: tenant)
        var byKey: [String: StoredDocument] = [:]
        for document in documents { byKey["\(document.collection)/\(document.id)"] = document }
        var ciphers: [String: DEKCipher] = [:]
        var entries: [IndexEntry] = []
        var unreadable = 0
        for chunk in try await deps.store.chunks(tenant: tenant) {
            let key = "\(chunk.collection)/\(chunk.documentID)"
            guard let document = byKey[key], document.embedder == deps.embedder.identifier else { continue }
            let cipher: DEKCipher
            if let cached = ciphers[key] {
                cipher = cached
            } else {
                // Classes without a leased KEK are simply not indexed; a leased KEK that fails to unwrap is an
                // integrity failure (a moved or altered row).
                guard let kek = await keks(document.tenant, document.dataClass)?.first(where: { $0.version == document.dekVersion })
                else { continue }
                guard let unwrapped = try? Envelope.unwrap(document.wrappedDEK, kek: kek.key, context: Self.dekContext(document)),
                    let prepared = try? DEKCipher(dek: unwrapped)
                else {
                    unreadable += 1
                    continue
                }
                ciphers[key] = prepared
                cipher = prepared
            }
            let context = Self.context(document).with(field: .embedding, chunkIndex: chunk.index)
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
        if unreadable > 0 { reportIntegrityFailures(unreadable, tenant: tenant, requestID: "index-build") }
        // Keys changed while building: entries decrypted under the old keys must not outlive the clear that came with it.
        guard await deps.leases.epoch == epoch, await deps.leases.isValid else {
            throw SealgateError(await deps.leases.isValid ? .keyLeaseUnavailable : await noLeaseReason(), "key set changed during index build")
        }
        await index.replace(tenant: tenant, entries: entries, epoch: epoch)
        deps.logger.info("tenant index built", metadata: ["tenant.id": "\(tenant)", "index.chunks": "\(entries.count)"])
    }
}
