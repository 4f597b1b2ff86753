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
    /// One entry in sparse form: hashed-feature vectors have few non-zero dimensions, so scoring touches only those.
    struct Sparse: Sendable {
        let entry: IndexEntry
        let indices: [Int32]
        let values: [Float]

        init(_ entry: IndexEntry) {
            self.entry = entry
            var indices: [Int32] = []
            var values: [Float] = []
            for (d, x) in entry.vector.enumerated() where x != 0 {
                indices.append(Int32(d))
                values.append(x)
            }
            self.indices = indices
            self.values = values
        }
    }

    struct Partition: Sendable {
        var entries: [Sparse] = []
        var documentFrequency: [Int]

        init(dimensions: Int) { documentFrequency = [Int](repeating: 0, count: dimensions) }

        mutating func add(_ entry: IndexEntry) {
            let sparse = Sparse(entry)
            for d in sparse.indices where Int(d) < documentFrequency.count { documentFrequency[Int(d)] += 1 }
            entries.append(sparse)
        }

        mutating func remove(document: DocumentID) {
            for sparse in entries where sparse.entry.documentID == document {
                for d in sparse.indices where Int(d) < documentFrequency.count { documentFrequency[Int(d)] -= 1 }
            }
            entries.removeAll { $0.entry.documentID == document }
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

    /// Replaces a tenant's whole index.
    public func replace(tenant: TenantID, entries: [IndexEntry], epoch: Int) {
        var partitions: [CollectionName: Partition] = [:]
        for entry in entries where entry.vector.count == dimensions {
            partitions[entry.collection, default: Partition(dimensions: dimensions)].add(entry)
        }
        tenants[tenant] = partitions
        epochs[tenant] = epoch
    }

    /// Replaces one document's entries.
    public func upsert(tenant: TenantID, collection: CollectionName, documentID: DocumentID, entries: [IndexEntry]) {
        guard epochs[tenant] != nil else { return }
        var partition = tenants[tenant]?[collection] ?? Partition(dimensions: dimensions)
        partition.remove(document: documentID)
        for entry in entries where entry.vector.count == dimensions { partition.add(entry) }
        tenants[tenant, default: [:]][collection] = partition
    }

    /// Removes one document's entries.
    public func remove(tenant: TenantID, collection: CollectionName, documentID: DocumentID) {
        tenants[tenant]?[collection]?.remove(document: documentID)
    }

    /// Forgets everything (the lease was lost).
    public func clear() {
        tenants = [:]
        epochs = [:]
    }

    /// Number of entries held for a tenant.
    public func count(tenant: TenantID) -> Int {
        tenants[tenant]?.values.reduce(0) { $0 + $1.entries.count } ?? 0
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
        let total = selected.reduce(0) { $0 + $1.entries.count }
        guard total > 0 else { return [] }
        var weight = [Float](repeating: 1, count: dimensions)
        if idf {
            for d in 0..<dimensions {
                let df = selected.reduce(0) { $0 + $1.documentFrequency[d] }
                let w = logf(Float(total + 1) / Float(df + 1)) + 1
                weight[d] = w * w
            }
        }
        // The query weighted once; each entry then costs only its non-zero dimensions.
        var weightedQuery = [Float](repeating: 0, count: dimensions)
        var qNorm: Float = 0
        for d in 0..<dimensions {
            weightedQuery[d] = query[d] * weight[d]
            qNorm += query[d] * weightedQuery[d]
        }
        guard qNorm > 0 else { return [] }
        let qLength = qNorm.squareRoot()
        var hits: [IndexHit] = []
        weightedQuery.withUnsafeBufferPointer { wq in
            weight.withUnsafeBufferPointer { w in
                for partition in selected {
                    for sparse in partition.entries where classes.contains(sparse.entry.dataClass) {
                        var dot: Float = 0
                        var norm: Float = 0
                        sparse.indices.withUnsafeBufferPointer { idx in
                            sparse.values.withUnsafeBufferPointer { val in
                                for k in 0..<idx.count {
                                    let d = Int(idx[k])
                                    let v = val[k]
                                    dot += wq[d] * v
                                    norm += v * v * w[d]
                                }
                            }
                        }
                        guard norm > 0, dot > 0 else { continue }
                        let e = sparse.entry
                        hits.append(
                            IndexHit(
                                collection: e.collection, documentID: e.documentID, chunkIndex: e.chunkIndex,
                                dataClass: e.dataClass, score: Double(dot / (qLength * norm.squareRoot()))))
                    }
                }
            }
        }
        let k = max(1, topK)
        hits.sort { $0.score != $1.score ? $0.score > $1.score : ($0.documentID, $0.chunkIndex) < ($1.documentID, $1.chunkIndex) }
        return Array(hits.prefix(k))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
