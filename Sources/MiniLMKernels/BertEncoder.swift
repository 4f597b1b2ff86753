/// One BERT encoder layer's weights, packed.
public struct BertLayer: Sendable {
    /// Query, key and value concatenated (`hidden → 3·hidden`).
    public let qkv: PackedLinear
    public let attentionOutput: PackedLinear
    public let attentionNorm: LayerNorm
    public let intermediate: PackedLinear
    public let output: PackedLinear
    public let outputNorm: LayerNorm

    /// Assembles a layer from packed parts.
    public init(
        qkv: PackedLinear, attentionOutput: PackedLinear, attentionNorm: LayerNorm, intermediate: PackedLinear,
        output: PackedLinear, outputNorm: LayerNorm
    ) {
        self.qkv = qkv
        self.attentionOutput = attentionOutput
        self.attentionNorm = attentionNorm
        self.intermediate = intermediate
        self.output = output
        self.outputNorm = outputNorm
    }
}

/// The 6-layer BERT encoder of all-MiniLM-L6-v2 with mean pooling and L2 normalisation.
///
/// Sequences are processed without padding: a batch's tokens are concatenated row-wise, the dense layers run once
/// over all rows (one blocked GEMM per layer and weight), and attention runs per sequence, so no token attends
/// across sequences and no padding is computed.
public struct BertEncoder: Sendable {
    public let hidden: Int
    public let heads: Int
    let wordEmbeddings: [Float]
    let positionEmbeddings: [Float]
    let tokenTypeEmbedding: [Float]
    let embeddingNorm: LayerNorm
    let layers: [BertLayer]
    /// The GEMM kernel every layer is packed for; attention runs on it too.
    let kernel: GEMMKernel
    /// Vocabulary size (rows of the word-embedding table).
    public var vocabularySize: Int { wordEmbeddings.count / hidden }
    /// Longest sequence the position table covers.
    public var maxPositions: Int { positionEmbeddings.count / hidden }

    /// Creates the encoder. `tokenTypeEmbedding` is row 0 of the token-type table (single-segment input). Every layer
    /// must be packed for the same kernel.
    public init(
        hidden: Int, heads: Int, wordEmbeddings: [Float], positionEmbeddings: [Float], tokenTypeEmbedding: [Float],
        embeddingNorm: LayerNorm, layers: [BertLayer]
    ) {
        self.hidden = hidden
        self.heads = heads
        self.wordEmbeddings = wordEmbeddings
        self.positionEmbeddings = positionEmbeddings
        self.tokenTypeEmbedding = tokenTypeEmbedding
        self.embeddingNorm = embeddingNorm
        self.layers = layers
        kernel = layers.first?.qkv.kernel ?? .portable
        precondition(
            layers.allSatisfy { [$0.qkv, $0.attentionOutput, $0.intermediate, $0.output].allSatisfy { $0.kernel == kernel } },
            "BertEncoder: layers packed for different kernels")
    }

    /// The L2-normalised mean-pooled embedding of each token sequence. Every id must be below ``vocabularySize``
    /// and every sequence non-empty and at most ``maxPositions`` long (the caller's tokenizer guarantees both).
    public func embed(_ sequences: [[Int32]]) -> [[Float]] {
        let h = hidden
        let total = sequences.reduce(0) { $0 + $1.count }
        guard total > 0 else { return sequences.map { _ in [Float](repeating: 0, count: h) } }
        var x = [Float](repeating: 0, count: total * h)
        var row = 0
        for sequence in sequences {
            for (position, id) in sequence.enumerated() {
                let w = Int(id) * h, p = position * h, o = (row + position) * h
                for i in 0..<h { x[o + i] = wordEmbeddings[w + i] + positionEmbeddings[p + i] + tokenTypeEmbedding[i] }
            }
            row += sequence.count
        }
        let lengths = sequences.map(\.count)
        let longest = lengths.max() ?? 0, headSize = h / heads
        var qkv = [Float](repeating: 0, count: total * 3 * h)
        var context = [Float](repeating: 0, count: total * h)
        var attended = [Float](repeating: 0, count: total * h)
        var inner = [Float](repeating: 0, count: total * (layers.first?.intermediate.outputs ?? 0))
        var scratch = [Float](
            repeating: 0, count: AttentionScratch.count(longest: longest, headSize: headSize, width: kernel.panelWidth))
        kernel.withScratch { gemm in
            x.withUnsafeMutableBufferPointer { xb in
                qkv.withUnsafeMutableBufferPointer { qb in
                    context.withUnsafeMutableBufferPointer { cb in
                        attended.withUnsafeMutableBufferPointer { ab in
                            inner.withUnsafeMutableBufferPointer { ib in
                                scratch.withUnsafeMutableBufferPointer { sb in
                                    guard let x = xb.baseAddress, let q = qb.baseAddress, let c = cb.baseAddress,
                                        let a = ab.baseAddress, let inner = ib.baseAddress, let s = sb.baseAddress
                                    else { return }
                                    let buffers = AttentionScratch(s, longest: longest, headSize: headSize, width: kernel.panelWidth)
                                    embeddingNorm.apply(x, rows: total, kernel: kernel)
                                    for layer in layers {
                                        layer.qkv.apply(x, rows: total, into: q, scratch: gemm)
                                        attention(q, lengths: lengths, into: c, buffers: buffers, gemm: gemm)
                                        layer.attentionOutput.apply(c, rows: total, into: a, scratch: gemm)
                                        layer.attentionNorm.apply(a, adding: x, rows: total, kernel: kernel)
                                        layer.intermediate.apply(a, rows: total, into: inner, scratch: gemm, gelu: true)
                                        layer.output.apply(inner, rows: total, into: x, scratch: gemm)
                                        layer.outputNorm.apply(x, adding: a, rows: total, kernel: kernel)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return pool(x, lengths: lengths)
    }

    /// Mean over each sequence's tokens (all attended: no padding), then L2 normalisation.
    private func pool(_ x: [Float], lengths: [Int]) -> [[Float]] {
        let h = hidden
        var result: [[Float]] = []
        result.reserveCapacity(lengths.count)
        var start = 0
        for length in lengths {
            var v = [Float](repeating: 0, count: h)
            for t in start..<(start + length) {
                for i in 0..<h { v[i] += x[t * h + i] }
            }
            var norm: Float = 0
            for i in 0..<h {
                v[i] /= Float(max(1, length))
                norm += v[i] * v[i]
            }
            let inv = 1 / max(norm.squareRoot(), 1e-12)
            for i in 0..<h { v[i] *= inv }
            result.append(v)
            start += length
        }
        return result
    }
}
