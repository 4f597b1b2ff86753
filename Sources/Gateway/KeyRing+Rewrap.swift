import Foundation
import KeyLease
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
    /// Runs at every renewal, not once per key set: a document can still be written under the older version after
    /// a pass listed the documents — by a replica whose lease has not brought the newer version yet (up to ⅔ of its
    /// TTL), or by an ingest that chose its key before the renewal — and a pass per key set left it there until the
    /// version was retired, and the document unreadable with it. Only tenants with a class whose lease holds an older
    /// version besides the current one are listed (their document rows, no chunks): between a rotation and the
    /// older version's retirement, every renewal reads those tenants' rows; otherwise a pass reads nothing.
    ///
    /// `proceed` is asked before the first batch and after each one; when it says no (the replica lost the job lease
    /// on a shared database), the run stops, and what is left moves at a later pass.
    @discardableResult
    public func rewrapDEKs(store: any DocumentStore, recorder: OutcomeRecorder, proceed: @Sendable () async -> Bool = { true }) async -> Int {
        guard await leases.isValid, await proceed() else { return 0 }
        var total = 0
        for tenant in tenants where await holdsOlderVersions(tenant) {
            let documents: [StoredDocument]
            do { documents = try await store.documents(tenant: tenant) } catch {
                recorder.logger.warning("DEK re-wrap: the tenant's documents could not be listed; left to the next pass", metadata: ["tenant.id": "\(tenant)"])
                continue
            }
            var batch = RewrapBatch()
            for document in documents {
                guard let keys = await keks(tenant, document.dataClass),
                    let current = keys.first(where: \.isCurrent) ?? keys.last, current.version > document.dekVersion
                else { continue }
                // From here the document needs moving: a failure leaves it to the next pass. A compare-and-set that finds
                // the row moved (by another replica) or replaced (re-ingested under its id) is not counted here.
                guard let old = keys.first(where: { $0.version == document.dekVersion }),
                    await Self.move(document, from: old, to: current, store: store)
                else { continue }
                batch.add(from: old.keyID, to: current.keyID)
                guard batch.count >= Self.rewrapBatch else { continue }
                total += await batch.flush(tenant: tenant, recorder: recorder)
                guard await proceed() else { return total }
            }
            total += await batch.flush(tenant: tenant, recorder: recorder)
        }
        return total
    }
}

extension KeyRing {
    /// Whether the lease holds, for some class of `tenant`, a version older than the current one: only then can a
    /// document (or an index snapshot) of the tenant need re-wrapping, and be re-wrapped.
    func holdsOlderVersions(_ tenant: TenantID, dataClass: DataClass? = nil) async -> Bool {
        for candidate in dataClass.map({ [$0] }) ?? classes where (await keks(tenant, candidate)?.count ?? 0) > 1 { return true }
        return false
    }

    /// Moves a document just written under `kek` to its class's current version if a renewal made a newer one
    /// current while it was sealed (that renewal's pass may have listed the documents before this one was stored);
    /// audited as a re-wrap. Returns the version the document's DEK is wrapped under now: the current one when moved
    /// here; when the move missed, the stored row's (the pass moved it) or `kek`'s (the store failed: left to the next
    /// pass, which needs that version leased); `nil` when the row is no longer this document (replaced by another
    /// ingest of its id, or deleted).
    func rewrapIfSuperseded(_ document: StoredDocument, kek: LeasedKey, store: any DocumentStore, recorder: OutcomeRecorder) async -> Int? {
        guard let keys = await keks(document.tenant, document.dataClass), let current = keys.first(where: \.isCurrent) ?? keys.last,
            current.version > kek.version
        else { return kek.version }
        if await Self.move(document, from: kek, to: current, store: store) {
            var batch = RewrapBatch()
            batch.add(from: kek.keyID, to: current.keyID)
            _ = await batch.flush(tenant: document.tenant, recorder: recorder)
            return current.version
        }
        let row: StoredDocument?
        do { row = try await store.document(tenant: document.tenant, collection: document.collection, id: document.id) } catch { return kek.version }
        guard let row, row.sealedTitle == document.sealedTitle else { return nil }
        return row.dekVersion
    }
}

extension KeyRing {
    /// Re-wraps `document`'s DEK from `old` (the version it is under) to `current` by the store's compare-and-set on
    /// its version and wrapped bytes; whether the row changed (not when another replica moved it first, or the id was
    /// re-ingested, or unwrapping or the store failed). The one move the re-wrap pass and an ingest's own move share.
    static func move(_ document: StoredDocument, from old: LeasedKey, to current: LeasedKey, store: any DocumentStore) async -> Bool {
        guard let dek = try? Envelope.unwrap(document.wrappedDEK, kek: old.key, context: document.dekContext()),
            let wrapped = try? Envelope.wrap(dek: dek, kek: current.key, context: document.dekContext(version: current.version))
        else { return false }
        return (try? await store.rewrap(
            tenant: document.tenant, collection: document.collection, id: document.id, from: old.version, replacing: document.wrappedDEK,
            to: current.version, wrappedDEK: wrapped)) == true
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
