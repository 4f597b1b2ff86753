import Foundation
import Logging
import SealgateCore
import Sealing

extension KeyRing {
    /// Documents re-wrapped per audit record (and between two calls of `proceed`): a replica killed mid-job leaves at
    /// most this many re-wraps short of a record, and a replica that lost its job lease stops within one batch.
    public static let rewrapBatch = 64

    /// Re-wraps every DEK of the leased tenants and classes still wrapped under an older KEK version with the current
    /// one (after a rotation), so older versions can be retired. Content ciphertext is untouched. Returns how many
    /// documents this call re-wrapped; each batch of at most ``rewrapBatch`` documents of a tenant is audited through
    /// `recorder` and counted in `sealgate_dek_rewraps_total`.
    ///
    /// `proceed` is asked before the first batch and after each one; when it says no (the replica lost the job lease
    /// on a shared database), the run stops and is left incomplete, so it runs again under the same keys later.
    @discardableResult
    public func rewrapDEKs(store: any DocumentStore, recorder: OutcomeRecorder, proceed: @Sendable () async -> Bool = { true }) async -> Int {
        let epoch = await leases.epoch
        guard await leases.isValid, rewrappedEpoch.withLock({ $0 }) != epoch, await proceed() else { return 0 }
        var total = 0
        var complete = true
        defer { if complete { rewrappedEpoch.withLock { $0 = epoch } } }
        for tenant in tenants {
            guard let documents = try? await store.documents(tenant: tenant) else {
                complete = false
                continue
            }
            var batch = RewrapBatch()
            for document in documents {
                guard let keys = await keks(tenant, document.dataClass),
                    let current = keys.first(where: \.isCurrent) ?? keys.last, current.version > document.dekVersion
                else { continue }
                // From here the document needs moving: any failure leaves the run incomplete, so it is retried. A
                // compare-and-set that finds the row already moved (by another replica) is not counted here.
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
                batch.add(from: old.keyID, to: current.keyID)
                guard batch.count >= Self.rewrapBatch else { continue }
                total += await batch.flush(tenant: tenant, recorder: recorder)
                guard await proceed() else {
                    complete = false
                    return total
                }
            }
            total += await batch.flush(tenant: tenant, recorder: recorder)
        }
        return total
    }
}

/// The re-wraps of one tenant not recorded yet.
struct RewrapBatch {
    var moved: [String: Int] = [:]
    var wrappingKeys: Set<String> = []
    var count: Int { moved.values.reduce(0, +) }

    mutating func add(from old: String, to current: String) {
        moved[old, default: 0] += 1
        wrappingKeys.insert(current)
    }

    /// Writes the batch's `rewrap` audit record, metric and log line, empties it, and returns how many it held.
    mutating func flush(tenant: TenantID, recorder: OutcomeRecorder) async -> Int {
        let count = count
        guard count > 0 else { return 0 }
        var record = AuditRecord(
            kind: .rewrap, time: recorder.now(), requestID: OutcomeRecorder.newRequestID(), tenant: tenant.rawValue,
            principal: "gateway", outcome: .allowed)
        // keyIDs: the versions DEKs moved off, then the version that wraps them now; chunkCount: documents moved.
        record.keyIDs = moved.keys.sorted() + wrappingKeys.sorted()
        record.rule = "lease.rewrap"
        record.chunkCount = count
        await recorder.note(record)
        recorder.metrics.increment("sealgate_dek_rewraps_total", labels: [("tenant", tenant.rawValue)], by: count)
        recorder.logger.info("re-wrapped DEKs under the current KEK", metadata: ["tenant.id": "\(tenant)", "rewrap.documents": "\(count)"])
        self = RewrapBatch()
        return count
    }
}
