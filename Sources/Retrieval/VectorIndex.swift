import SealgateCore
import Synchronization

/// One indexed chunk: where it is, its class, and its decrypted embedding (memory only).
public struct IndexEntry: Sendable {
    public let collection: CollectionName
    public let documentID: DocumentID
    public let chunkIndex: Int
    public let dataClass: DataClass
    public let vector: [Float]
    /// An opaque tag of the stored version of the document (kept per document in the index, for snapshots).
    public let version: [UInt8]?

    public init(
        collection: CollectionName, documentID: DocumentID, chunkIndex: Int, dataClass: DataClass, vector: [Float], version: [UInt8]? = nil
    ) {
        self.collection = collection
        self.documentID = documentID
        self.chunkIndex = chunkIndex
        self.dataClass = dataClass
        self.vector = vector
        self.version = version
    }
}

/// A search hit.
public struct IndexHit: Sendable, Equatable {
    public let collection: CollectionName
    public let documentID: DocumentID
    public let chunkIndex: Int
    public let dataClass: DataClass
    public let score: Double

    public init(collection: CollectionName, documentID: DocumentID, chunkIndex: Int, dataClass: DataClass, score: Double) {
        self.collection = collection
        self.documentID = documentID
        self.chunkIndex = chunkIndex
        self.dataClass = dataClass
        self.score = score
    }
}

/// A chunk the index names: a search candidate whose full-precision vector is asked for.
public struct ChunkRef: Sendable, Hashable {
    public let collection: CollectionName
    public let documentID: DocumentID
    public let chunkIndex: Int
    public let dataClass: DataClass
}

/// Which sub-index: a collection and a data class (within a tenant and the index's embedder).
public struct SubIndexKey: Sendable, Hashable {
    public let collection: CollectionName
    public let dataClass: DataClass

    public init(collection: CollectionName, dataClass: DataClass) {
        self.collection = collection
        self.dataClass = dataClass
    }
}

/// Per-tenant vector indexes, held only in memory: one ``ClassIndex`` per collection × data class (HNSW over int8
/// codes above ``IndexOptions/bruteForceBelow`` chunks, a scan below), with exact rescoring of the candidates.
///
/// A tenant's index is tagged with the key-lease epoch it was built under; callers rebuild it when the epoch
/// changes and ``clear()`` it when the lease is lost.
public actor VectorIndex {
    /// One collection's sub-indexes, by class.
    struct Partition: Sendable {
        var classes: [DataClass: ClassIndex] = [:]
        var count: Int { classes.values.reduce(0) { $0 + $1.count } }
    }

    /// Values per vector.
    public nonisolated let dimensions: Int
    /// Whether dimensions are weighted by inverse document frequency.
    public nonisolated let idfWeighting: Bool
    /// How sub-indexes are built and searched.
    public nonisolated let options: IndexOptions
    var tenants: [TenantID: [CollectionName: Partition]] = [:]
    var epochs: [TenantID: Int] = [:]
    /// Whether a width measurement (``WidthEvidence``) is running: at most one at a time, a question that arrives
    /// meanwhile is not measured.
    let measuring = Mutex(false)
    /// Questions asked of the index (every ``WidthEvidence/steadyRate``-th is offered for a width measurement).
    let questions = Atomic<Int>(0)
    /// When each tenant's index was last changed (an upsert or a removal). A measurement holds a copy of a
    /// sub-index for tens of milliseconds at a million chunks, and a change made meanwhile copies its arrays: no
    /// measurement starts within ``measurementQuiet`` of a change.
    let lastChange = Mutex<[TenantID: ContinuousClock.Instant]>([:])
    /// How long after a change of a tenant's index no width measurement starts for it (2 s unless the creator said).
    nonisolated let measurementQuiet: Duration

    /// Notes a change to the tenant's index (see ``lastChange``).
    nonisolated func noteChange(_ tenant: TenantID) {
        let now = ContinuousClock.now
        lastChange.withLock { $0[tenant] = now }
    }

    /// A sub-index whose measured search width (``WidthEvidence``) was decided or moved: worth sealing again, so a
    /// restart loads the width instead of measuring it again.
    public struct SettledWidth: Sendable, Equatable {
        public let tenant: TenantID
        public let key: SubIndexKey
        /// The width `auto` now searches the sub-index at.
        public let width: Int
        /// The lease epoch the tenant's index was built under when the width was decided: only that index is sealed.
        public let epoch: Int
    }

    /// Each ``SettledWidth`` as it happens (the newest 256 kept while nobody reads); finishes with the index.
    public nonisolated let settledWidths: AsyncStream<SettledWidth>
    let settledWidthSink: AsyncStream<SettledWidth>.Continuation

    /// Creates an empty index for vectors of `dimensions` values.
    /// Creates an empty index; `measurementQuiet` is how long after a change no width measurement starts (tests
    /// lengthen it so a slow machine cannot outlast it).
    public init(dimensions: Int, idfWeighting: Bool, options: IndexOptions = .inMemory, measurementQuiet: Duration = .seconds(2)) {
        self.measurementQuiet = measurementQuiet
        self.dimensions = dimensions
        self.idfWeighting = idfWeighting
        self.options = options
        (settledWidths, settledWidthSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
    }

    deinit { settledWidthSink.finish() }

    /// Whether the tenant's index was built under `epoch`.
    public func isBuilt(tenant: TenantID, epoch: Int) -> Bool { epochs[tenant] == epoch }

    /// A change to one document made while a build of its tenant was under way.
    enum Change {
        case upsert(CollectionName, DocumentID, [IndexEntry])
        case remove(CollectionName, DocumentID)
    }

    /// An index build under way: the changes made to the tenant since it began are replayed over its result.
    public struct BuildTicket: Sendable {
        let tenant: TenantID
        /// The number of the last change made before the build read the store.
        let sequence: Int
        /// The clear generation it began in: a clear in between voids it.
        let generation: Int
    }

    var builds: [TenantID: Int] = [:]
    var journal: [TenantID: [(sequence: Int, change: Change)]] = [:]
    var sequence = 0
    var generation = 0

    /// Starts a build of a tenant's index. Call it before reading the store, then ``replace(_:entries:epoch:)``
    /// or ``abandon(_:)``: every upsert and removal made in between is kept and replayed over the build's result,
    /// so a document stored while the build read an older snapshot is never lost.
    public func beginBuild(tenant: TenantID) -> BuildTicket {
        builds[tenant, default: 0] += 1
        return BuildTicket(tenant: tenant, sequence: sequence, generation: generation)
    }

    /// Ends a build without installing it.
    public func abandon(_ ticket: BuildTicket) { endBuild(ticket.tenant) }

    /// Installs a tenant's whole index from a build, replaying the changes made since the build began. Returns
    /// `false` (and installs nothing) if the index was cleared since.
    @discardableResult
    public func replace(_ ticket: BuildTicket, entries: [IndexEntry], epoch: Int) -> Bool {
        replace(ticket, loaded: [:], entries: entries, epoch: epoch)
    }

    /// Installs a tenant's index from sub-indexes loaded from snapshots (already brought in line with the store
    /// by the caller) plus `entries` upserted over them per document, then replays the changes made since the
    /// build began. Returns `false` (and installs nothing) if the index was cleared since.
    @discardableResult
    public func replace(_ ticket: BuildTicket, loaded: [SubIndexKey: ClassIndex], entries: [IndexEntry], epoch: Int) -> Bool {
        defer { endBuild(ticket.tenant) }
        guard ticket.generation == generation else { return false }
        var partitions: [CollectionName: Partition] = [:]
        for (key, sub) in loaded where sub.dimensions == dimensions && sub.idf == idfWeighting {
            partitions[key.collection, default: Partition()].classes[key.dataClass] = sub
        }
        var byDocument: [SubDocument: [IndexEntry]] = [:]
        var order: [SubDocument] = []
        for entry in entries where entry.vector.count == dimensions {
            let key = SubDocument(collection: entry.collection, documentID: entry.documentID)
            if byDocument[key] == nil { order.append(key) }
            byDocument[key, default: []].append(entry)
        }
        // New sub-indexes are filled first and linked once at the end, on all build threads.
        for key in order { apply(.upsert(key.collection, key.documentID, byDocument[key] ?? []), to: &partitions, deferringGraphs: true) }
        for collection in Array(partitions.keys) {
            guard var partition = partitions.removeValue(forKey: collection) else { continue }
            for dataClass in Array(partition.classes.keys) { partition.classes[dataClass]?.linkDeferred() }
            partitions[collection] = partition
        }
        for (number, change) in journal[ticket.tenant] ?? [] where number > ticket.sequence {
            apply(change, to: &partitions)
        }
        tenants[ticket.tenant] = partitions
        // Invalidated while the build read the store: serve it, but rebuild on the next query.
        epochs[ticket.tenant] = (invalidated[ticket.tenant] ?? Int.min) > ticket.sequence ? nil : epoch
        return true
    }

    struct SubDocument: Hashable {
        let collection: CollectionName
        let documentID: DocumentID
    }

    /// Replaces a tenant's whole index (no build under way can be affected; tests and tools).
    public func replace(tenant: TenantID, entries: [IndexEntry], epoch: Int) {
        replace(beginBuild(tenant: tenant), entries: entries, epoch: epoch)
    }

    /// Replaces one document's entries.
    public func upsert(tenant: TenantID, collection: CollectionName, documentID: DocumentID, entries: [IndexEntry]) {
        noteChange(tenant)
        record(.upsert(collection, documentID, entries), tenant: tenant)
    }

    /// Removes one document's entries.
    public func remove(tenant: TenantID, collection: CollectionName, documentID: DocumentID) {
        noteChange(tenant)
        record(.remove(collection, documentID), tenant: tenant)
    }

    /// The change sequence number at each tenant's last ``invalidate(tenant:)``.
    var invalidated: [TenantID: Int] = [:]

    /// Marks a tenant's index stale (another replica changed its documents): the next ``isBuilt(tenant:epoch:)``
    /// is `false`, and a build that read the store before this call installs its result without marking it built,
    /// so the tenant is rebuilt again from what the store holds now.
    public func invalidate(tenant: TenantID) {
        sequence += 1
        invalidated[tenant] = sequence
        epochs[tenant] = nil
    }

    /// Marks every tenant's index stale (changes may have been missed).
    public func invalidateAll() {
        for tenant in Set(tenants.keys).union(builds.keys) { invalidate(tenant: tenant) }
    }

    /// Forgets everything (the lease was lost), including the changes kept for builds under way, which are void.
    public func clear() {
        tenants = [:]
        epochs = [:]
        journal = [:]
        // Builds in flight are void (the generation below), so no build compares its ticket with these any more.
        invalidated = [:]
        generation += 1
    }

    func record(_ change: Change, tenant: TenantID) {
        sequence += 1
        if builds[tenant] != nil { journal[tenant, default: []].append((sequence, change)) }
        guard epochs[tenant] != nil else { return }
        // Taken out and put back so the sub-indexes are mutated in place, not copied.
        var partitions = tenants.removeValue(forKey: tenant) ?? [:]
        apply(change, to: &partitions)
        tenants[tenant] = partitions
    }

    /// Applies a change. With `deferringGraphs`, sub-indexes it creates link no graph until ``ClassIndex/linkDeferred()``.
    func apply(_ change: Change, to partitions: inout [CollectionName: Partition], deferringGraphs: Bool = false) {
        switch change {
        case .upsert(let collection, let documentID, let entries):
            var partition = partitions.removeValue(forKey: collection) ?? Partition()
            for key in Array(partition.classes.keys) { partition.classes[key]?.remove(document: documentID) }
            var byClass: [DataClass: [IndexEntry]] = [:]
            for entry in entries where entry.vector.count == dimensions { byClass[entry.dataClass, default: []].append(entry) }
            for (dataClass, group) in byClass {
                var sub: ClassIndex
                if let existing = partition.classes.removeValue(forKey: dataClass) {
                    sub = existing
                } else {
                    sub = ClassIndex(dimensions: dimensions, idfWeighting: idfWeighting, options: options)
                    sub.deferGraph = deferringGraphs
                }
                sub.add(document: documentID, version: group.first?.version, chunks: group.map { ($0.chunkIndex, $0.vector) })
                partition.classes[dataClass] = sub
            }
            partition.classes = partition.classes.filter { $0.value.count > 0 || !$0.value.versions.isEmpty }
            if !partition.classes.isEmpty { partitions[collection] = partition }
        case .remove(let collection, let documentID):
            guard var partition = partitions.removeValue(forKey: collection) else { return }
            for key in Array(partition.classes.keys) { partition.classes[key]?.remove(document: documentID) }
            partition.classes = partition.classes.filter { $0.value.count > 0 || !$0.value.versions.isEmpty }
            // A collection whose last document went is dropped, not kept as an empty partition until the next build.
            if !partition.classes.isEmpty { partitions[collection] = partition }
        }
    }

    func endBuild(_ tenant: TenantID) {
        let remaining = (builds[tenant] ?? 1) - 1
        builds[tenant] = remaining > 0 ? remaining : nil
        if remaining <= 0 { journal[tenant] = nil }
    }

    /// Number of entries held for a tenant.
    public func count(tenant: TenantID) -> Int {
        tenants[tenant]?.values.reduce(0) { $0 + $1.count } ?? 0
    }

    /// The partitions to search (copy-on-write: taking them is O(1)), so scoring runs outside the actor; `nil` when
    /// the tenant has no index installed (a built tenant has an entry, if an empty one, until ``clear()``).
    func snapshot(tenant: TenantID, collections: [CollectionName]) -> [(collection: CollectionName, partition: Partition)]? {
        guard let partitions = tenants[tenant] else { return nil }
        return Set(collections).sorted { $0.rawValue < $1.rawValue }.compactMap { c in partitions[c].map { (c, $0) } }
    }

    /// The tenant's sub-indexes (copy-on-write copies), for sealing snapshots off the actor.
    public func subIndexes(tenant: TenantID) -> [SubIndexKey: ClassIndex] {
        var out: [SubIndexKey: ClassIndex] = [:]
        for (collection, partition) in tenants[tenant] ?? [:] {
            for (dataClass, sub) in partition.classes { out[SubIndexKey(collection: collection, dataClass: dataClass)] = sub }
        }
        return out
    }

    /// Approximate bytes the tenant's index holds in memory.
    public func memoryBytes(tenant: TenantID) -> Int {
        (tenants[tenant] ?? [:]).values.reduce(0) { $0 + $1.classes.values.reduce(0) { $0 + $1.memoryBytes } }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
