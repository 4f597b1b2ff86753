import SealgateCore

/// One indexed chunk: where it is, its class, and its decrypted embedding (memory only).
public struct IndexEntry: Sendable {
    public let collection: CollectionName
    public let documentID: DocumentID
    public let chunkIndex: Int
    public let dataClass: DataClass
    public let vector: [Float]

    public init(collection: CollectionName, documentID: DocumentID, chunkIndex: Int, dataClass: DataClass, vector: [Float]) {
        self.collection = collection
        self.documentID = documentID
        self.chunkIndex = chunkIndex
        self.dataClass = dataClass
        self.vector = vector
    }
}

/// A search hit.
public struct IndexHit: Sendable, Equatable {
    public let collection: CollectionName
    public let documentID: DocumentID
    public let chunkIndex: Int
    public let dataClass: DataClass
    public let score: Double
}

/// Per-tenant, per-collection vector indexes, held only in memory and built from decrypted embeddings.
///
/// A tenant's index is tagged with the key-lease epoch it was built under; callers rebuild it when the epoch
/// changes and ``clear()`` it when the lease is lost.
public actor VectorIndex {
    /// Where an indexed chunk is and its class (the vector lives in the partition's flat array).
    struct Row: Sendable {
        let collection: CollectionName
        let documentID: DocumentID
        let chunkIndex: Int
        let dataClass: DataClass
    }

    /// One collection's entries: their places, their vectors as one flat row-major array (scored with SIMD
    /// over contiguous memory; hashed-feature vectors are about two thirds non-zero, so a sparse form would be
    /// larger and slower), and per-dimension document frequencies for IDF weighting.
    struct Partition: Sendable {
        var rows: [Row] = []
        var vectors: [Float] = []
        var documentFrequency: [Int]
        let dimensions: Int

        init(dimensions: Int) {
            self.dimensions = dimensions
            documentFrequency = [Int](repeating: 0, count: dimensions)
        }

        mutating func add(_ entry: IndexEntry) {
            guard entry.vector.count == dimensions else { return }
            for d in 0..<dimensions where entry.vector[d] != 0 { documentFrequency[d] += 1 }
            rows.append(Row(collection: entry.collection, documentID: entry.documentID, chunkIndex: entry.chunkIndex, dataClass: entry.dataClass))
            vectors.append(contentsOf: entry.vector)
        }

        mutating func remove(document: DocumentID) {
            guard rows.contains(where: { $0.documentID == document }) else { return }
            var keptRows: [Row] = []
            var keptVectors: [Float] = []
            keptRows.reserveCapacity(rows.count)
            keptVectors.reserveCapacity(vectors.count)
            for (i, row) in rows.enumerated() {
                let vector = vectors[(i * dimensions)..<((i + 1) * dimensions)]
                if row.documentID == document {
                    for (d, x) in vector.enumerated() where x != 0 { documentFrequency[d] -= 1 }
                } else {
                    keptRows.append(row)
                    keptVectors.append(contentsOf: vector)
                }
            }
            rows = keptRows
            vectors = keptVectors
        }
    }

    let dimensions: Int
    let idfWeighting: Bool
    var tenants: [TenantID: [CollectionName: Partition]] = [:]
    var epochs: [TenantID: Int] = [:]

    /// Creates an empty index for vectors of `dimensions` values.
    public init(dimensions: Int, idfWeighting: Bool) {
        self.dimensions = dimensions
        self.idfWeighting = idfWeighting
    }

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
        defer { endBuild(ticket.tenant) }
        guard ticket.generation == generation else { return false }
        var partitions: [CollectionName: Partition] = [:]
        for entry in entries where entry.vector.count == dimensions {
            partitions[entry.collection, default: Partition(dimensions: dimensions)].add(entry)
        }
        for (number, change) in journal[ticket.tenant] ?? [] where number > ticket.sequence {
            apply(change, to: &partitions)
        }
        tenants[ticket.tenant] = partitions
        epochs[ticket.tenant] = epoch
        return true
    }

    /// Replaces a tenant's whole index (no build under way can be affected; tests and tools).
    public func replace(tenant: TenantID, entries: [IndexEntry], epoch: Int) {
        replace(beginBuild(tenant: tenant), entries: entries, epoch: epoch)
    }

    /// Replaces one document's entries.
    public func upsert(tenant: TenantID, collection: CollectionName, documentID: DocumentID, entries: [IndexEntry]) {
        record(.upsert(collection, documentID, entries), tenant: tenant)
    }

    /// Removes one document's entries.
    public func remove(tenant: TenantID, collection: CollectionName, documentID: DocumentID) {
        record(.remove(collection, documentID), tenant: tenant)
    }

    /// Forgets everything (the lease was lost), including the changes kept for builds under way, which are void.
    public func clear() {
        tenants = [:]
        epochs = [:]
        journal = [:]
        generation += 1
    }

    func record(_ change: Change, tenant: TenantID) {
        sequence += 1
        if builds[tenant] != nil { journal[tenant, default: []].append((sequence, change)) }
        guard epochs[tenant] != nil else { return }
        var partitions = tenants[tenant] ?? [:]
        apply(change, to: &partitions)
        tenants[tenant] = partitions
    }

    func apply(_ change: Change, to partitions: inout [CollectionName: Partition]) {
        switch change {
        case .upsert(let collection, let documentID, let entries):
            var partition = partitions[collection] ?? Partition(dimensions: dimensions)
            partition.remove(document: documentID)
            for entry in entries where entry.vector.count == dimensions { partition.add(entry) }
            partitions[collection] = partition
        case .remove(let collection, let documentID):
            partitions[collection]?.remove(document: documentID)
        }
    }

    func endBuild(_ tenant: TenantID) {
        let remaining = (builds[tenant] ?? 1) - 1
        builds[tenant] = remaining > 0 ? remaining : nil
        if remaining <= 0 { journal[tenant] = nil }
    }

    /// Number of entries held for a tenant.
    public func count(tenant: TenantID) -> Int {
        tenants[tenant]?.values.reduce(0) { $0 + $1.rows.count } ?? 0
    }

    /// The partitions to search (copy-on-write: taking them is O(1)), so scoring runs outside the actor.
    func snapshot(tenant: TenantID, collections: [CollectionName]) -> [Partition] {
        guard let partitions = tenants[tenant] else { return [] }
        return collections.compactMap { partitions[$0] }
    }

    /// The `topK` best chunks of the tenant's `collections` whose class is in `classes`, by cosine similarity
    /// (IDF-weighted for sparse hashed features). Only hits with a positive score are returned. Scoring runs
    /// off the actor, so concurrent queries use every core.
    public nonisolated func search(
        tenant: TenantID, collections: [CollectionName], classes: Set<DataClass>, query: [Float], topK: Int
    ) async -> [IndexHit] {
        guard query.count == dimensions else { return [] }
        let selected = await snapshot(tenant: tenant, collections: collections)
        return Self.score(selected, dimensions: dimensions, idf: idfWeighting, classes: classes, query: query, topK: topK)
    }

    static func score(
        _ selected: [Partition], dimensions: Int, idf: Bool, classes: Set<DataClass>, query: [Float], topK: Int
    ) -> [IndexHit] {
        let total = selected.reduce(0) { $0 + $1.rows.count }
        guard total > 0 else { return [] }
        var weight = [Float](repeating: 1, count: dimensions)
        if idf {
            for d in 0..<dimensions {
                let df = selected.reduce(0) { $0 + $1.documentFrequency[d] }
                let w = logf(Float(total + 1) / Float(df + 1)) + 1
                weight[d] = w * w
            }
        }
        // The query weighted once; each entry then costs one pass over its vector.
        var weightedQuery = [Float](repeating: 0, count: dimensions)
        var qNorm: Float = 0
        for d in 0..<dimensions {
            weightedQuery[d] = query[d] * weight[d]
            qNorm += query[d] * weightedQuery[d]
        }
        guard qNorm > 0 else { return [] }
        let qLength = qNorm.squareRoot()
        // Pass 1: a score per entry (no allocation, no reference counting), keeping the k best scores seen.
        let k = max(1, topK)
        var scores = [[Double]]()
        scores.reserveCapacity(selected.count)
        var best: [Double] = []  // ascending, at most k
        weightedQuery.withUnsafeBufferPointer { wq in
            weight.withUnsafeBufferPointer { w in
                for partition in selected {
                    // Rows share a handful of classes: look each distinct one up once, not once per row.
                    var known: [(DataClass, Bool)] = []
                    let allowed = partition.rows.map { row -> Bool in
                        if let hit = known.first(where: { $0.0 == row.dataClass }) { return hit.1 }
                        let verdict = classes.contains(row.dataClass)
                        known.append((row.dataClass, verdict))
                        return verdict
                    }
                    var partitionScores = [Double](repeating: -.infinity, count: partition.rows.count)
                    partition.vectors.withUnsafeBufferPointer { flat in
                        guard let base = flat.baseAddress, let q = wq.baseAddress, let ww = w.baseAddress else { return }
                        for row in 0..<partition.rows.count where allowed[row] {
                            let (dot, norm) = Self.weightedDotAndNorm(base + row * dimensions, q, ww, dimensions)
                            guard norm > 0, dot > 0 else { continue }
                            let score = Double(dot / (qLength * norm.squareRoot()))
                            partitionScores[row] = score
                            if best.count < k {
                                best.insert(score, at: best.firstIndex { $0 > score } ?? best.count)
                            } else if score > best[0] {
                                best.removeFirst()
                                best.insert(score, at: best.firstIndex { $0 > score } ?? best.count)
                            }
                        }
                    }
                    scores.append(partitionScores)
                }
            }
        }
        // Pass 2: only entries at or above the k-th best score (ties included) become hits, in the stable order.
        guard let threshold = best.first else { return [] }
        var hits: [IndexHit] = []
        for (p, partition) in selected.enumerated() {
            for (row, score) in scores[p].enumerated() where score >= threshold {
                let e = partition.rows[row]
                hits.append(IndexHit(collection: e.collection, documentID: e.documentID, chunkIndex: e.chunkIndex, dataClass: e.dataClass, score: score))
            }
        }
        hits.sort {
            $0.score != $1.score
                ? $0.score > $1.score
                : ($0.documentID.rawValue, $0.chunkIndex, $0.collection.rawValue) < ($1.documentID.rawValue, $1.chunkIndex, $1.collection.rawValue)
        }
        return Array(hits.prefix(k))
    }

    /// Σ q[d]·v[d] and Σ w[d]·v[d]² over `n` dimensions, eight lanes at a time.
    @inline(__always)
    static func weightedDotAndNorm(
        _ v: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int
    ) -> (dot: Float, norm: Float) {
        var dot = SIMD8<Float>()
        var norm = SIMD8<Float>()
        var d = 0
        while d + 8 <= n {
            let x = UnsafeRawPointer(v + d).loadUnaligned(as: SIMD8<Float>.self)
            let qx = UnsafeRawPointer(q + d).loadUnaligned(as: SIMD8<Float>.self)
            let wx = UnsafeRawPointer(w + d).loadUnaligned(as: SIMD8<Float>.self)
            dot += x * qx
            norm += x * x * wx
            d += 8
        }
        var dotSum = dot.sum()
        var normSum = norm.sum()
        while d < n {
            dotSum += v[d] * q[d]
            normSum += v[d] * v[d] * w[d]
            d += 1
        }
        return (dotSum, normSum)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
