import RetrievalKernelsAVX

/// A second copy of an IDF-weighted sub-index's int8 codes, laid out dimension-major in blocks of
/// ``lanes`` nodes, so a sparse query can be scored against **every** node on its own non-zero dimensions only.
///
/// The built-in embedder's question vectors are sparse (a short question has ~20–60 non-zero hashed dimensions of
/// 1,024) while its chunk vectors are dense, and a weighted cosine only sums over the question's non-zero dimensions.
/// Scoring all nodes on those dimensions is the exact int8 search at a twentieth of a full scan's cost; the graph,
/// which hashed features make a hard space to walk (docs/retrieval.md), is then needed only for long questions.
struct ColumnCodes: Sendable {
    /// Nodes per block (`SEALGATE_ANN_COLUMN_LANES`).
    static let lanes = Int(SEALGATE_ANN_COLUMN_LANES)
    /// The most dimensions a question is scored on: its most heavily weighted ones. A question with more non-zero
    /// dimensions is scored approximately here and searched through the graph as well.
    static let maximumDimensions = 96

    let dimensions: Int
    /// Node `b·lanes + l`'s code at dimension `d` is `blocks[(b·dimensions + d)·lanes + l]`.
    var blocks: [Int8] = []
    /// `1 / ‖code‖_W` per node under ``normWeights`` (0 for an all-zero code).
    var inverseNorms: [Float] = []
    /// The dimension weights the norms were computed under (the sub-index's IDF at ``normsLiveCount`` chunks).
    var normWeights: [Float] = []
    var normsLiveCount = 0

    init(dimensions: Int) {
        self.dimensions = dimensions
    }

    /// Nodes held (the last block may be part-filled; its other lanes are zero).
    var count: Int { inverseNorms.count }

    /// Appends one node's codes; its norm is computed under the current ``normWeights`` (1 each before any).
    mutating func append(_ code: UnsafeBufferPointer<Int8>, kernel: SimilarityKernel) {
        let lane = count % Self.lanes
        if lane == 0 { blocks.append(contentsOf: repeatElement(0, count: dimensions * Self.lanes)) }
        let base = (count / Self.lanes) * dimensions * Self.lanes + lane
        blocks.withUnsafeMutableBufferPointer { out in
            for d in 0..<min(dimensions, code.count) where code[d] != 0 { out[base + d * Self.lanes] = code[d] }
        }
        inverseNorms.append(Self.inverseNorm(code, weights: normWeights, kernel: kernel))
    }

    /// Recomputes every norm under `weights` (taken at `liveCount` chunks) from the row-major `codes`.
    mutating func refreshNorms(codes: [Int8], weights: [Float], liveCount: Int, kernel: SimilarityKernel) {
        normWeights = weights
        normsLiveCount = liveCount
        codes.withUnsafeBufferPointer { all in
            for node in 0..<count {
                let code = UnsafeBufferPointer(rebasing: all[(node * dimensions)..<((node + 1) * dimensions)])
                inverseNorms[node] = Self.inverseNorm(code, weights: weights, kernel: kernel)
            }
        }
    }

    /// `1 / ‖code‖_W` (0 for an all-zero code): Σ w[d]·code[d]² by the distance kernel when `weights` covers the code,
    /// else Σ code[d]² (the weights are empty before the sub-index has any).
    static func inverseNorm(_ code: UnsafeBufferPointer<Int8>, weights: [Float], kernel: SimilarityKernel) -> Float {
        let norm: Float
        if weights.count == code.count {
            norm = weights.withUnsafeBufferPointer { w in kernel.dotAndNorm(w.baseAddress, w.baseAddress, code.baseAddress, code.count).1 }
        } else {
            norm = code.reduce(0) { $0 + Float($1) * Float($1) }
        }
        return norm > 0 ? 1 / norm.squareRoot() : 0
    }

    /// Whether the norms are due for a refresh: computed under weights of a sub-index an eighth smaller or larger.
    func normsStale(liveCount: Int) -> Bool {
        normWeights.isEmpty || abs(liveCount - normsLiveCount) > max(64, normsLiveCount / 8)
    }

    /// The question's dimensions the scan scores on: its non-zero ones, most heavily weighted first, at most
    /// ``maximumDimensions``; `complete` when that is all of them (the scan is then the exact int8 search).
    static func selection(of query: [Float]) -> (dimensions: [Int32], values: [Float], complete: Bool) {
        var nonZero = query.indices.filter { query[$0] != 0 }
        let complete = nonZero.count <= maximumDimensions
        if !complete {
            nonZero.sort { abs(query[$0]) > abs(query[$1]) }
            nonZero = Array(nonZero.prefix(maximumDimensions))
        }
        return (nonZero.map { Int32($0) }, nonZero.map { query[$0] }, complete)
    }

    /// The `count` best nodes for which `include` holds, by the question's dot product on the selected dimensions
    /// times each node's stored inverse weighted norm (the weighted cosine on int8 codes, up to the norms' age).
    func best(
        dimensions selected: [Int32], values: [Float], count wanted: Int, kernel: SimilarityKernel, include: (Int32) -> Bool
    ) -> [(score: Float, node: Int32)] {
        guard count > 0, wanted > 0, !selected.isEmpty else { return [] }
        var heap = ScoredHeap(highestFirst: false, capacity: wanted + 1)
        // Blocks scored a batch at a time into one reused buffer (64 KiB of scores per batch of 16 blocks).
        let batch = 16
        var scores = [Float](repeating: 0, count: batch * Self.lanes)
        let blockCount = (count + Self.lanes - 1) / Self.lanes
        // A node enters the heap only when it beats `floor`: 0 until the heap is full, then its worst score.
        var floor: Float = 0
        blocks.withUnsafeBufferPointer { codes in
            selected.withUnsafeBufferPointer { sel in
                values.withUnsafeBufferPointer { v in
                    inverseNorms.withUnsafeBufferPointer { norms in
                        scores.withUnsafeMutableBufferPointer { out in
                            guard let c = codes.baseAddress, let s = sel.baseAddress, let q = v.baseAddress, let o = out.baseAddress,
                                let inverse = norms.baseAddress
                            else { return }
                            var first = 0
                            while first < blockCount {
                                let n = min(batch, blockCount - first)
                                kernel.columnScores(c + first * dimensions * Self.lanes, n, dimensions, s, q, selected.count, o)
                                let start = first * Self.lanes
                                for i in 0..<min(n * Self.lanes, count - start) {
                                    let score = o[i] * inverse[start + i]
                                    guard score > floor, include(Int32(start + i)) else { continue }
                                    if heap.count >= wanted { heap.pop() }
                                    heap.push(score, Int32(start + i))
                                    if heap.count >= wanted { floor = max(0, heap.top?.score ?? 0) }
                                }
                                first += n
                            }
                        }
                    }
                }
            }
        }
        return heap.items.sorted { $0.score > $1.score }
    }

    /// Bytes held.
    var memoryBytes: Int { blocks.count + inverseNorms.count * 4 + normWeights.count * 4 }
}
