import SealgateCore

extension VectorIndex {
    /// Full-precision vectors of candidate chunks, in order (`nil` for a chunk that no longer exists).
    public typealias VectorSource = @Sendable ([ChunkRef]) async throws -> [[Float]?]

    /// The `topK` best chunks of the tenant's `collections` whose class is in `classes`, by cosine similarity
    /// (IDF-weighted for sparse hashed features). Only hits with a positive score are returned, best first, ties
    /// by document id, chunk index and collection. Only the sub-indexes of `classes` are searched.
    ///
    /// Candidates come from each sub-index's graph or scan over int8 codes; the best
    /// ``IndexOptions/rescoreCount(_:)`` of them are rescored exactly from full-precision vectors: those kept in
    /// memory, else `vectors`. Without either, scores are the int8 approximations.
    /// - Throws: what `vectors` throws; ``SealgateError`` (`internal_error`) if it answers for fewer chunks.
    public nonisolated func search(
        tenant: TenantID, collections: [CollectionName], classes: Set<DataClass>, query: [Float], topK: Int, vectors: @escaping VectorSource
    ) async throws -> [IndexHit] {
        try await run(tenant: tenant, collections: collections, classes: classes, query: query, topK: topK, vectors: vectors) ?? []
    }

    /// ``search(tenant:collections:classes:query:topK:vectors:)``, or `nil` when the tenant has no index installed
    /// (never built, or dropped by ``clear()`` — the key set changed — after the caller made sure it was built): an
    /// empty answer then would say "nothing matches" where the index was merely being replaced.
    public nonisolated func searchInstalled(
        tenant: TenantID, collections: [CollectionName], classes: Set<DataClass>, query: [Float], topK: Int, vectors: @escaping VectorSource
    ) async throws -> [IndexHit]? {
        try await run(tenant: tenant, collections: collections, classes: classes, query: query, topK: topK, vectors: vectors)
    }

    /// ``search(tenant:collections:classes:query:topK:vectors:)`` without a vector source: exact when the index
    /// keeps full-precision vectors (``IndexOptions/inMemory``), int8-approximate scores otherwise.
    public nonisolated func search(
        tenant: TenantID, collections: [CollectionName], classes: Set<DataClass>, query: [Float], topK: Int
    ) async -> [IndexHit] {
        ((try? await run(tenant: tenant, collections: collections, classes: classes, query: query, topK: topK, vectors: nil)) ?? nil) ?? []
    }

    /// The search; `nil` when the tenant has no index installed.
    nonisolated func run(
        tenant: TenantID, collections: [CollectionName], classes: Set<DataClass>, query: [Float], topK: Int, vectors: VectorSource?
    ) async throws -> [IndexHit]? {
        guard let selected = await snapshot(tenant: tenant, collections: collections) else { return nil }
        guard query.count == dimensions, topK > 0 else { return [] }
        let total = selected.reduce(0) { $0 + $1.partition.count }
        guard total > 0 else { return [] }
        var weight = [Float](repeating: 1, count: dimensions)
        if idfWeighting {
            var df = [Int32](repeating: 0, count: dimensions)
            for (_, partition) in selected {
                for sub in partition.classes.values {
                    for d in 0..<dimensions { df[d] += sub.documentFrequency[d] }
                }
            }
            weight = IDF.weights(documentFrequency: df, total: total)
        }
        guard let prepared = IDF.prepare(query, weights: idfWeighting ? weight : nil) else { return [] }
        // Candidates from every readable sub-index, the best `wanted` overall rescored.
        let wanted = options.rescoreCount(topK)
        // Candidates name their sub-index by position in `searched`: a copy of the sub-index value per candidate costs
        // a retain and a release of each of its arrays (visible in `perf` at 11 k chunks; no QPS difference measurable
        // on the loaded machine, docs/benchmarks.md).
        var searched: [ClassIndex] = []
        var measured: [SubIndexKey] = []
        // After a sub-index's warm-up, one question in WidthEvidence.steadyRate to the index is offered for measurement.
        let drawn = questions.wrappingAdd(1, ordering: .relaxed).oldValue % WidthEvidence.steadyRate == 0
        var pool: [(score: Float, sub: Int, node: Int32, collection: CollectionName, dataClass: DataClass)] = []
        for (collection, partition) in selected {
            for (dataClass, sub) in partition.classes where classes.contains(dataClass) {
                searched.append(sub)
                if sub.widthWarmingUp || (drawn && sub.measuresWidth) { measured.append(SubIndexKey(collection: collection, dataClass: dataClass)) }
                for found in sub.candidates(query: prepared, weights: idfWeighting ? weight : nil, count: wanted) {
                    pool.append((found.score, searched.count - 1, found.node, collection, dataClass))
                }
            }
        }
        if !measured.isEmpty { measureWidths(tenant: tenant, query: prepared, candidates: wanted, measured) }
        pool.sort { $0.score > $1.score }
        let chosen = pool.prefix(wanted)
        var exact: [[Float]?]
        if options.keepsFullPrecision {
            exact = chosen.map { searched[$0.sub].vectorForLinking($0.node) }
        } else if let vectors {
            let refs = chosen.map {
                ChunkRef(
                    collection: $0.collection, documentID: searched[$0.sub].documents[Int($0.node)],
                    chunkIndex: Int(searched[$0.sub].chunkIndexes[Int($0.node)]), dataClass: $0.dataClass)
            }
            exact = try await vectors(refs)
            guard exact.count == refs.count else { throw SealgateError(.internalError, "the vector source answered for other chunks") }
        } else {
            exact = [[Float]?](repeating: nil, count: chosen.count)
        }
        var weightedQuery = [Float](repeating: 0, count: dimensions)
        var qNorm: Float = 0
        for d in 0..<dimensions {
            weightedQuery[d] = query[d] * weight[d]
            qNorm += query[d] * weightedQuery[d]
        }
        let qLength = qNorm.squareRoot()
        var hits: [IndexHit] = []
        for (candidate, vector) in zip(chosen, exact) {
            let score: Double
            if let vector {
                guard vector.count == dimensions else { continue }
                let (dot, norm) = Self.weightedDotAndNorm(vector, weightedQuery, weight)
                guard norm > 0, dot > 0 else { continue }
                score = Double(dot / (qLength * norm.squareRoot()))
            } else {
                // No full-precision vector: a chunk gone since (with a source) is dropped; without one, approximate.
                guard vectors == nil, !options.keepsFullPrecision, candidate.score > 0 else { continue }
                score = Double(candidate.score)
            }
            let node = Int(candidate.node)
            hits.append(
                IndexHit(
                    collection: candidate.collection, documentID: searched[candidate.sub].documents[node],
                    chunkIndex: Int(searched[candidate.sub].chunkIndexes[node]),
                    dataClass: candidate.dataClass, score: score))
        }
        // Defence in depth: a class the request may not read is never returned, whatever a sub-index holds.
        hits.removeAll { !classes.contains($0.dataClass) }
        hits.sort {
            $0.score != $1.score
                ? $0.score > $1.score
                : ($0.documentID.rawValue, $0.chunkIndex, $0.collection.rawValue) < ($1.documentID.rawValue, $1.chunkIndex, $1.collection.rawValue)
        }
        return Array(hits.prefix(topK))
    }

    /// Measures `auto`'s width ladder on these sub-indexes for `query` (``WidthEvidence``) off the request's path:
    /// the answer does not wait for the exact search this takes. One measurement at a time per index, none within
    /// ``measurementQuiet`` of a change to the tenant's index; a question that arrives meanwhile is not measured.
    /// Each sub-index is fetched from the actor just before it is measured and released right after, so a copy is
    /// held only while one is measured.
    nonisolated func measureWidths(tenant: TenantID, query: [Float], candidates: Int, _ keys: [SubIndexKey]) {
        let now = ContinuousClock.now
        if let changed = lastChange.withLock({ $0[tenant] }), now - changed < measurementQuiet { return }
        guard measuring.withLock({ running in
            if running { return false }
            running = true
            return true
        })
        else { return }
        Task.detached(priority: .utility) {
            for key in keys {
                guard let measurement = await self.subIndex(tenant: tenant, key: key)?.measureWidths(query: query, candidates: candidates) else {
                    continue
                }
                await self.recordWidths(tenant: tenant, key: key, base: measurement.base, found: measurement.found, relevant: measurement.relevant)
            }
            self.measuring.withLock { $0 = false }
        }
    }

    /// One sub-index of the tenant (a copy-on-write copy).
    func subIndex(tenant: TenantID, key: SubIndexKey) -> ClassIndex? { tenants[tenant]?[key.collection]?.classes[key.dataClass] }

    /// Adds a width measurement to the sub-index it was made on, if it is still there.
    func recordWidths(tenant: TenantID, key: SubIndexKey, base: Int, found: [Int], relevant: Int) {
        guard tenants[tenant]?[key.collection]?.classes[key.dataClass]?.recordWidths(base: base, found: found, relevant: relevant) == true,
            let epoch = epochs[tenant], let width = tenants[tenant]?[key.collection]?.classes[key.dataClass]?.widthEvidence?.width
        else { return }
        settledWidthSink.yield(SettledWidth(tenant: tenant, key: key, width: width, epoch: epoch))
    }

    /// Forgets that a sub-index's width was reported as worth sealing (its snapshot was not written): the next
    /// measurement that decides a width reports it again.
    public func forgetReportedWidth(tenant: TenantID, key: SubIndexKey) {
        tenants[tenant]?[key.collection]?.classes[key.dataClass]?.reportedWidth = nil
    }

    /// Σ q[d]·v[d] and Σ w[d]·v[d]² (the exact score's parts), eight lanes at a time.
    static func weightedDotAndNorm(_ vector: [Float], _ query: [Float], _ weight: [Float]) -> (dot: Float, norm: Float) {
        vector.withUnsafeBufferPointer { vb in
            query.withUnsafeBufferPointer { qb in
                weight.withUnsafeBufferPointer { wb in
                    guard let v = vb.baseAddress, let q = qb.baseAddress, let w = wb.baseAddress else { return (0, 0) }
                    let n = vb.count
                    var dot = SIMD8<Float>()
                    var norm = SIMD8<Float>()
                    var d = 0
                    while d + 8 <= n {
                        let x = UnsafeRawPointer(v + d).loadUnaligned(as: SIMD8<Float>.self)
                        dot += x * UnsafeRawPointer(q + d).loadUnaligned(as: SIMD8<Float>.self)
                        norm += x * x * UnsafeRawPointer(w + d).loadUnaligned(as: SIMD8<Float>.self)
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
        }
    }
}
