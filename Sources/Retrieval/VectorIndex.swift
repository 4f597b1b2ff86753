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
    struct Partition {
        var entries: [IndexEntry] = []
        var documentFrequency: [Int]

        init(dimensions: Int) { documentFrequency = [Int](repeating: 0, count: dimensions) }

        mutating func add(_ entry: IndexEntry) {
            entries.append(entry)
            for (d, x) in entry.vector.enumerated() where x != 0 && d < documentFrequency.count {
                documentFrequency[d] += 1
            }
        }

        mutating func remove(document: DocumentID) {
            let removed = entries.filter { $0.documentID == document }
            entries.removeAll { $0.documentID == document }
            for entry in removed {
                for (d, x) in entry.vector.enumerated() where x != 0 && d < documentFrequency.count {
                    documentFrequency[d] -= 1
                }
            }
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

    /// The `topK` best chunks of the tenant's `collections` whose class is in `classes`, by cosine similarity
    /// (IDF-weighted for sparse hashed features). Only hits with a positive score are returned.
    public func search(
        tenant: TenantID, collections: [CollectionName], classes: Set<DataClass>, query: [Float], topK: Int
    ) -> [IndexHit] {
        guard query.count == dimensions, let partitions = tenants[tenant] else { return [] }
        let selected = collections.compactMap { partitions[$0] }
        let total = selected.reduce(0) { $0 + $1.entries.count }
        guard total > 0 else { return [] }
        var weight = [Float](repeating: 1, count: dimensions)
        if idfWeighting {
            for d in 0..<dimensions {
                let df = selected.reduce(0) { $0 + $1.documentFrequency[d] }
                let idf = logf(Float(total + 1) / Float(df + 1)) + 1
                weight[d] = idf * idf
            }
        }
        var qNorm: Float = 0
        for d in 0..<dimensions { qNorm += query[d] * query[d] * weight[d] }
        guard qNorm > 0 else { return [] }
        var hits: [IndexHit] = []
        for partition in selected {
            for entry in partition.entries where classes.contains(entry.dataClass) {
                var dot: Float = 0
                var norm: Float = 0
                entry.vector.withUnsafeBufferPointer { v in
                    query.withUnsafeBufferPointer { q in
                        weight.withUnsafeBufferPointer { w in
                            for d in 0..<v.count {
                                let vw = v[d] * w[d]
                                dot += q[d] * vw
                                norm += v[d] * vw
                            }
                        }
                    }
                }
                guard norm > 0, dot > 0 else { continue }
                let score = Double(dot / (qNorm.squareRoot() * norm.squareRoot()))
                hits.append(
                    IndexHit(
                        collection: entry.collection, documentID: entry.documentID, chunkIndex: entry.chunkIndex,
                        dataClass: entry.dataClass, score: score))
            }
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : ($0.documentID, $0.chunkIndex) < ($1.documentID, $1.chunkIndex) }
        return Array(hits.prefix(max(1, topK)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
