import Foundation
import Logging
import SealgateCore
import Sealing

extension KeyRing {
    /// Re-wraps every DEK of the leased tenants and classes still wrapped under an older KEK version with the current
    /// one (after a rotation), so older versions can be retired. Content ciphertext is untouched. Returns how many
    /// documents were re-wrapped; each tenant's batch is audited through `recorder`.
    @discardableResult
    public func rewrapDEKs(store: any DocumentStore, recorder: OutcomeRecorder) async -> Int {
        let epoch = await leases.epoch
        guard await leases.isValid, rewrappedEpoch.withLock({ $0 }) != epoch else { return 0 }
        var total = 0
        var complete = true
        defer { if complete { rewrappedEpoch.withLock { $0 = epoch } } }
        for tenant in tenants {
            guard let documents = try? await store.documents(tenant: tenant) else {
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
                    let dek = try? Envelope.unwrap(document.wrappedDEK, kek: old.key, context: document.dekContext()),
                    let wrapped = try? Envelope.wrap(dek: dek, kek: current.key, context: document.dekContext(version: current.version)),
                    (try? await store.rewrap(
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
                kind: .rewrap, time: recorder.now(), requestID: OutcomeRecorder.newRequestID(), tenant: tenant.rawValue,
                principal: "gateway", outcome: .allowed)
            // keyIDs: the versions DEKs moved off, then the version that wraps them now; chunkCount: documents moved.
            record.keyIDs = moved.keys.sorted() + wrappingKeys.sorted()
            record.rule = "lease.rewrap"
            record.chunkCount = count
            await recorder.note(record)
            recorder.logger.info("re-wrapped DEKs under the current KEK", metadata: ["tenant.id": "\(tenant)", "rewrap.documents": "\(count)"])
        }
        return total
    }
}
