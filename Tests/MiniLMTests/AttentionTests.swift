import MiniLMKernels
import SealgateTestSupport
import Testing

/// A small random BERT (3 heads of 32 dimensions, MiniLM's head size) packed for `kernel`.
func randomEncoder(kernel: GEMMKernel, layers: Int = 2, seed: UInt64 = 16) -> BertEncoder {
    let hidden = 96, intermediate = 128, vocabulary = 50, positions = 300
    var rng = SplitMix64(seed: seed)
    func values(_ n: Int, _ range: ClosedRange<Float>) -> [Float] { (0..<n).map { _ in Float.random(in: range, using: &rng) } }
    func norm() -> LayerNorm { LayerNorm(gamma: values(hidden, 0.8...1.2), beta: values(hidden, -0.1...0.1)) }
    func linear(_ outputs: Int, _ inputs: Int) -> PackedLinear {
        PackedLinear(weight: values(outputs * inputs, -0.25...0.25), bias: values(outputs, -0.1...0.1), outputs: outputs, inputs: inputs, kernel: kernel)
    }
    let stack = (0..<layers).map { _ in
        BertLayer(
            qkv: linear(3 * hidden, hidden), attentionOutput: linear(hidden, hidden), attentionNorm: norm(),
            intermediate: linear(intermediate, hidden), output: linear(hidden, intermediate), outputNorm: norm())
    }
    return BertEncoder(
        hidden: hidden, heads: 3, wordEmbeddings: values(vocabulary * hidden, -1...1), positionEmbeddings: values(positions * hidden, -1...1),
        tokenTypeEmbedding: values(hidden, -0.1...0.1), embeddingNorm: norm(), layers: stack)
}

@Suite("Attention: the fused AVX-512 attention (32-dimension heads) gives what the unfused path on the AVX2 kernel gives")
struct AttentionTests {
    // Lengths around the fused kernel's 12-query blocks and 32-key panels (a last block of fewer than twelve
    // queries, a last panel with one key, 256 = the tokenizer's limit), embedded as one batch so that a write past a
    // sequence's rows or a softmax over the padding keys shows up in another sequence or in its own vector.
    @Test("same embeddings (every component within 2e-5, cosine ≥ 0.999 999) for sequences of 1 to 256 tokens in one batch",
          .enabled(if: GEMMKernel.avx512.runs(on: .current), "this CPU lacks AVX-512: the fused attention never runs here"))
    func fusedMatchesUnfused() {
        let lengths = [1, 5, 11, 12, 13, 31, 32, 33, 100, 128, 200, 256]
        var rng = SplitMix64(seed: 7)
        let sequences = lengths.map { length in (0..<length).map { _ in Int32.random(in: 0..<50, using: &rng) } }
        let fused = randomEncoder(kernel: .avx512).embed(sequences)
        let unfused = randomEncoder(kernel: .avx2).embed(sequences)
        #expect(fused.count == lengths.count && unfused.count == lengths.count)
        var worst: Float = 0
        for (i, length) in lengths.enumerated() {
            let difference = zip(fused[i], unfused[i]).map { abs($0 - $1) }.max() ?? .infinity
            worst = max(worst, difference)
            #expect(difference < 2e-5, "length \(length): largest difference \(difference)")
            #expect(cosine(fused[i], unfused[i]) >= 0.999_999, "length \(length)")
        }
        print("fused AVX-512 attention vs the AVX2 path: largest difference \(worst) over \(lengths.count) sequences")
    }

    @Test("one text alone and the same text in a batch of others give the same fused result",
          .enabled(if: GEMMKernel.avx512.runs(on: .current), "this CPU lacks AVX-512: the fused attention never runs here"))
    func batchIndependent() {
        let encoder = randomEncoder(kernel: .avx512, layers: 1, seed: 3)
        var rng = SplitMix64(seed: 9)
        let sequences = [13, 40, 7].map { length in (0..<length).map { _ in Int32.random(in: 0..<50, using: &rng) } }
        let batch = encoder.embed(sequences)
        for (i, sequence) in sequences.enumerated() {
            let alone = encoder.embed([sequence])[0]
            let difference = zip(alone, batch[i]).map { abs($0 - $1) }.max() ?? .infinity
            #expect(alone.count == 96 && difference < 1e-6, "sequence \(i) of \(sequence.count) tokens: \(difference)")
        }
    }
}
