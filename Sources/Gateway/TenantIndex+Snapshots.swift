import Foundation
import KeyLease
import Logging
import Retrieval
import SealgateCore
import Sealing

extension TenantIndex {
    /// What a build installs: sub-indexes loaded from snapshots (brought in line with the store), entries
    /// decrypted from the store over them, and the sub-indexes whose snapshot should be written afresh.
    struct Assembled {
        var loaded: [SubIndexKey: ClassIndex] = [:]
        var entries: [IndexEntry] = []
        var dirty: Set<SubIndexKey> = []
    }

    /// Why a snapshot was refused (the `snapshot.reason` of the log line and event).
    enum SnapshotRefusal: String {
        case malformed, foreignBinding = "foreign_binding", keyNotLeased = "key_not_leased"
        case authenticationFailed = "authentication_failed", invalidIndex = "invalid_index"
    }

    /// The tenant's index from its snapshots and the store. Each sub-index (collection × class) of a leased class
    /// is loaded from its snapshot when one opens; documents the snapshot lacks, or holds in another version than
    /// the store, are decrypted and upserted, and documents the store no longer has are removed. Without a
    /// snapshot store, or when nothing loads, every embedding is decrypted (``decryptedEntries(tenant:only:)``).
    func assemble(tenant: TenantID, epoch: Int) async throws -> Assembled {
        guard let snapshots else { return Assembled(entries: try await decryptedEntries(tenant: tenant)) }
        var groups: [SubIndexKey: [StoredDocument]] = [:]
        for document in try await store.documents(tenant: tenant) where document.embedder == embedderID {
            groups[SubIndexKey(collection: document.collection, dataClass: document.dataClass), default: []].append(document)
        }
        var built = Assembled()
        var pending: [StoredDocument] = []
        for (key, group) in groups.sorted(by: { ($0.key.collection, $0.key.dataClass) < ($1.key.collection, $1.key.dataClass) }) {
            guard let keys = await keyRing.keks(tenant, key.dataClass) else { continue }  // not leased: not indexed
            // A document whose DEK is wrapped under a version the lease lacks is not indexed (as in a full build).
            let documents = group.filter { document in keys.contains { $0.version == document.dekVersion } }
            guard let (snapshot, binding) = await openSnapshot(tenant: tenant, key: key, keys: keys, store: snapshots, epoch: epoch) else {
                pending += documents
                built.dirty.insert(key)
                continue
            }
            var sub = snapshot
            // Its graph was relinked with this gateway's options (written by an older release): saved again.
            if sub.relinkedAtLoad { built.dirty.insert(key) }
            let tags = Dictionary(documents.map { ($0.id, Self.versionTag($0)) }, uniquingKeysWith: { a, _ in a })
            for id in sub.indexedDocuments where sub.documentVersions[id] == nil || sub.documentVersions[id] != tags[id] {
                sub.remove(document: id)
                built.dirty.insert(key)
            }
            let missing = documents.filter { sub.documentVersions[$0.id] != tags[$0.id] }
            if !missing.isEmpty { built.dirty.insert(key) }
            // Sealed under a KEK version that is no longer current: written again under the current one.
            if let current = keys.first(where: \.isCurrent) ?? keys.last, current.version != binding.dekVersion { built.dirty.insert(key) }
            pending += missing
            built.loaded[key] = sub
        }
        if built.loaded.isEmpty {
            built.entries = try await decryptedEntries(tenant: tenant)
        } else if !pending.isEmpty {
            built.entries = try await decryptedEntries(tenant: tenant, only: pending)
        }
        return built
    }

    /// The sub-index a stored snapshot holds, if it verifies as this tenant's, collection's, class's and
    /// embedder's under a leased KEK version. Anything else is refused: logged with its reason, reported as a
    /// `dev.sealgate.index.snapshot.refused` security event, deleted, and rebuilt by the caller.
    ///
    /// A snapshot sealed under a newer KEK version than `keys` hold, met by a build of a lease `epoch` that has
    /// since been replaced, is left alone (no refusal, no event): a build under the newer keys wrote it, and this
    /// build is voided by the epoch change anyway.
    func openSnapshot(
        tenant: TenantID, key: SubIndexKey, keys: [LeasedKey], store snapshots: any IndexSnapshotStore, epoch: Int
    ) async -> (ClassIndex, SnapshotBinding)? {
        let snapshotKey = IndexSnapshotKey(tenant: tenant, collection: key.collection, dataClass: key.dataClass, embedder: embedderID)
        let sealed: Data
        do {
            guard let found = try await snapshots.snapshot(snapshotKey) else { return nil }
            sealed = found
        } catch {
            recorder.logger.warning("index snapshot could not be read; rebuilding", metadata: ["tenant.id": "\(tenant)"])
            return nil
        }
        func refuse(_ reason: SnapshotRefusal, version: Int? = nil) async -> (ClassIndex, SnapshotBinding)? {
            var data = ["reason": reason.rawValue, "data_class": key.dataClass.rawValue, "embedder": embedderID]
            if let version { data["kek_version"] = String(version) }
            recorder.logger.warning(
                "index snapshot refused; rebuilding from the store",
                metadata: ["tenant.id": "\(tenant)", "snapshot.reason": "\(reason.rawValue)", "data.class": "\(key.dataClass)"])
            recorder.events.emit(SecurityEvent(type: "dev.sealgate.index.snapshot.refused", subject: tenant.rawValue, time: recorder.now(), data: data))
            try? await snapshots.delete(snapshotKey)
            return nil
        }
        guard let binding = try? IndexSnapshotSeal.binding(of: sealed) else { return await refuse(.malformed) }
        guard binding.tenant == tenant, binding.collection == key.collection, binding.dataClass == key.dataClass, binding.embedder == embedderID
        else { return await refuse(.foreignBinding) }
        guard let kek = keys.first(where: { $0.version == binding.dekVersion }) else {
            if let newest = keys.map(\.version).max(), binding.dekVersion > newest, keyRing.leases.publishedEpoch != epoch { return nil }
            return await refuse(.keyNotLeased, version: binding.dekVersion)
        }
        guard let body = try? IndexSnapshotSeal.open(sealed, kek: kek.key) else { return await refuse(.authenticationFailed, version: binding.dekVersion) }
        guard let sub = try? ClassIndex.decode([UInt8](body), dimensions: vectors.dimensions, idfWeighting: vectors.idfWeighting, options: vectors.options)
        else { return await refuse(.invalidIndex) }
        snapshotEpochs.withLock { $0[snapshotKey] = max($0[snapshotKey] ?? 0, binding.epoch) }
        return (sub, binding)
    }

    /// Seals the tenant's current sub-indexes of `keys` under the current KEK of their class and stores them
    /// (a key whose sub-index is now empty loses its snapshot). Failures are logged; the next build rebuilds.
    /// Returns the keys whose snapshot was written.
    @discardableResult
    func saveSnapshots(tenant: TenantID, keys: Set<SubIndexKey>, epoch: Int) async -> Set<SubIndexKey> {
        var written: Set<SubIndexKey> = []
        // Cleared or rebuilt under other keys since: nothing of this build is written.
        guard let snapshots, await vectors.isBuilt(tenant: tenant, epoch: epoch) else { return written }
        let subs = await vectors.subIndexes(tenant: tenant)
        for key in keys {
            let snapshotKey = IndexSnapshotKey(tenant: tenant, collection: key.collection, dataClass: key.dataClass, embedder: embedderID)
            let lock = snapshotLock(snapshotKey)
            await lock.lock()
            let outcome = await saveSnapshot(sub: subs[key], key: key, snapshotKey: snapshotKey, store: snapshots, tenant: tenant, epoch: epoch)
            await lock.unlock()
            switch outcome {
            case .written: written.insert(key)
            case .skipped: continue
            case .void: return written
            }
        }
        return written
    }

    /// What ``saveSnapshot(sub:key:snapshotKey:store:tenant:epoch:)`` did: wrote the snapshot, skipped this key
    /// (deleted as empty, no key of the epoch held, the store failed), or found the build void (nothing more is written).
    enum SnapshotWrite { case written, skipped, void }

    /// Seals one sub-index and stores it, holding the key's ``snapshotLock(_:)``.
    private func saveSnapshot(
        sub: ClassIndex?, key: SubIndexKey, snapshotKey: IndexSnapshotKey, store snapshots: any IndexSnapshotStore, tenant: TenantID, epoch: Int
    ) async -> SnapshotWrite {
        guard let sub, sub.count > 0 else {
            try? await snapshots.delete(snapshotKey)
            return .skipped
        }
        // The keys of the epoch the sub-index was built under, or nothing: a renewal publishes its epoch before its clear runs.
        guard let held = await keyRing.keksWithEpoch(tenant, key.dataClass), held.epoch == epoch,
            let current = held.keys.first(where: { $0.isCurrent }) ?? held.keys.last
        else { return .skipped }
        let snapshotEpoch = snapshotEpochs.withLock { epochs -> UInt64 in
            let next = (epochs[snapshotKey] ?? 0) + 1
            epochs[snapshotKey] = next
            return next
        }
        let binding = SnapshotBinding(
            tenant: tenant, collection: key.collection, dataClass: key.dataClass, embedder: embedderID, epoch: snapshotEpoch, kekVersion: current.version)
        do {
            let sealed = try IndexSnapshotSeal.seal(Data(sub.encoded()), binding: binding, kek: current.key)
            // Sealing a large sub-index takes seconds: a clear or a new key set since voids the write.
            guard keyRing.leases.publishedEpoch == epoch, await vectors.isBuilt(tenant: tenant, epoch: epoch) else { return .void }
            try await snapshots.save(sealed, for: snapshotKey)
            return .written
        } catch {
            recorder.logger.warning("index snapshot could not be written", metadata: ["tenant.id": "\(tenant)", "data.class": "\(key.dataClass)"])
            return .skipped
        }
    }

    /// The lock held while a snapshot key is written (one per key, kept for the process's life: one per sub-index).
    func snapshotLock(_ key: IndexSnapshotKey) -> AsyncMutex {
        snapshotLocks.withLock { locks in
            if let lock = locks[key] { return lock }
            let lock = AsyncMutex()
            locks[key] = lock
            return lock
        }
    }

    /// Seals a sub-index again once `auto` has measured the width its questions need (the first decision after a
    /// warm-up, or a change of it at most every half hour), so a restart or a new lease epoch loads the width with the
    /// graph instead of searching at the ladder's widest while it measures again.
    func sealMeasuredWidth(_ settled: VectorIndex.SettledWidth) async {
        recorder.logger.info(
            "index search width measured",
            metadata: ["tenant.id": "\(settled.tenant)", "data.class": "\(settled.key.dataClass)", "index.search_width": "\(settled.width)"])
        // Not written (the store failed, the keys changed, no key held): the next measurement reports it again.
        if await saveSnapshots(tenant: settled.tenant, keys: [settled.key], epoch: settled.epoch).isEmpty {
            await vectors.forgetReportedWidth(tenant: settled.tenant, key: settled.key)
        }
    }

    /// What `auto` measured on each of the tenant's sub-indexes (operators' tools, tests).
    public func searchWidths(tenant: TenantID) async -> [SubIndexKey: WidthEvidence] {
        await vectors.subIndexes(tenant: tenant).compactMapValues(\.searchWidthEvidence)
    }

    /// Re-wraps the DEK of every snapshot still wrapped under an older KEK version of its class with the current
    /// one (after a rotation, with the documents' DEK re-wrap), so the older version can be retired. Returns how
    /// many snapshots were re-wrapped; one that does not open is left for the next build to refuse and rebuild.
    /// A snapshot is read (whole) only while its class's lease holds an older version besides the current one.
    @discardableResult
    public func rewrapSnapshots() async -> Int {
        guard let snapshots else { return 0 }
        var moved = 0
        for tenant in keyRing.tenants where await keyRing.holdsOlderVersions(tenant) {
            for key in (try? await snapshots.keys(tenant: tenant)) ?? [] where key.embedder == embedderID {
                guard await keyRing.holdsOlderVersions(tenant, dataClass: key.dataClass) else { continue }
                // Read and written under the key's lock: a snapshot written meanwhile is never replaced by this older one.
                let lock = snapshotLock(key)
                await lock.lock()
                let rewrapped = await rewrapSnapshot(key, tenant: tenant, store: snapshots)
                await lock.unlock()
                if rewrapped { moved += 1 }
            }
        }
        if moved > 0 { recorder.logger.info("re-wrapped index snapshot DEKs under the current KEK", metadata: ["index.snapshots": "\(moved)"]) }
        return moved
    }

    /// Re-wraps one snapshot's DEK under its class's current KEK; whether it did.
    private func rewrapSnapshot(_ key: IndexSnapshotKey, tenant: TenantID, store snapshots: any IndexSnapshotStore) async -> Bool {
        guard let sealed = try? await snapshots.snapshot(key), let binding = try? IndexSnapshotSeal.binding(of: sealed),
            binding.tenant == tenant, let leased = await keyRing.keks(tenant, key.dataClass),
            let current = leased.first(where: \.isCurrent) ?? leased.last, current.version > binding.dekVersion,
            let old = leased.first(where: { $0.version == binding.dekVersion }),
            let rewrapped = try? IndexSnapshotSeal.rewrap(sealed, old: old.key, new: current.key, newVersion: current.version)
        else { return false }
        return (try? await snapshots.save(rewrapped, for: key)) != nil
    }
}
