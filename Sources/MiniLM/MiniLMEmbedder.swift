import Crypto
import Foundation
import MiniLMKernels
import SealgateCore

/// all-MiniLM-L6-v2 (384 dimensions) in process: WordPiece tokenizer, the 6-layer BERT encoder, mean pooling over
/// the attended tokens and L2 normalisation, matching sentence-transformers (truncation at 256 tokens).
///
/// It takes its files as bytes (``init(weights:vocabulary:)``), so a protected loader can hand over decrypted
/// buffers that never touch persistent storage; ``init(directory:)`` reads a plain directory holding
/// `model.safetensors` and `vocab.txt`. ``embed(_:)`` batches texts and runs the batches on all cores.
public struct MiniLMEmbedder: Embedder {
    /// Output dimensions.
    public static let dimensions = 384
    static let layers = 6, heads = 12, intermediate = 1536

    /// `minilm-l6-v2-384-` and the first 16 hex digits of SHA-256 of the weights file: other weights, another id.
    public let identifier: String
    /// Dense vectors: the index uses plain cosine.
    public var wantsIDFWeighting: Bool { false }
    let tokenizer: WordPieceTokenizer
    let encoder: BertEncoder
    /// Concurrent batches (the processor count).
    let parallelism: Int
    /// The dense-layer kernel the weights are packed for (``GEMMKernel/selected`` unless one was asked for). The
    /// kernels agree within float rounding, so the embedder ``identifier`` does not depend on it.
    public let kernel: GEMMKernel
    /// Tokens per batch: enough rows for the GEMM to stay in its blocked regime, small enough to share out.
    static let batchTokens = 2048

    /// Loads the model from the bytes of `model.safetensors` and `vocab.txt`. `kernel` picks a dense-layer kernel
    /// other than this CPU's choice (benchmarks and tests compare them); it must run on this CPU.
    /// - Throws: ``MiniLMError`` (`safetensors_malformed`, `model_tensor_mismatch`, `vocabulary_malformed`,
    ///   `unsupported_cpu`); nothing is half-loaded.
    public init(
        weights: Data, vocabulary: Data, parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, kernel: GEMMKernel? = nil
    ) throws {
        guard let selected = GEMMKernel.selected else {
            throw MiniLMError(.unsupportedCPU, "the MiniLM kernels need AVX2 and FMA (x86-64-v3); this CPU lacks them")
        }
        let chosen = kernel ?? selected
        guard chosen.runs(on: .current) else {
            throw MiniLMError(.unsupportedCPU, "the \(chosen) kernel cannot run on this CPU (it runs \(selected))")
        }
        let file = try SafeTensors(weights)
        tokenizer = try WordPieceTokenizer(vocabulary: vocabulary, maxLength: 256)
        encoder = try Self.encoder(file, kernel: chosen)
        self.kernel = chosen
        guard tokenizer.count <= encoder.vocabularySize else {
            throw MiniLMError(.vocabularyMalformed, "vocab.txt has \(tokenizer.count) entries; the model has \(encoder.vocabularySize)")
        }
        identifier = "minilm-l6-v2-384-" + SHA256.hash(data: weights).prefix(8).map { String(format: "%02x", $0) }.joined()
        self.parallelism = max(1, parallelism)
    }

    /// Loads `model.safetensors` and `vocab.txt` from a plain directory.
    public init(directory: URL, parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, kernel: GEMMKernel? = nil) throws {
        let weights: Data, vocabulary: Data
        do {
            weights = try Data(contentsOf: directory.appendingPathComponent("model.safetensors"), options: .alwaysMapped)
            vocabulary = try Data(contentsOf: directory.appendingPathComponent("vocab.txt"))
        } catch {
            throw MiniLMError(.unreadable, "cannot read model.safetensors and vocab.txt in \(directory.path)")
        }
        try self.init(weights: weights, vocabulary: vocabulary, parallelism: parallelism, kernel: kernel)
    }

    /// Token ids of `text` as the model sees it (`[CLS] … [SEP]`, at most 256).
    public func tokenize(_ text: String) -> [Int32] { tokenizer.encode(text) }

    /// Embeds each text: batches as ``batches(tokenCounts:parallelism:)`` cuts them, at most ``parallelism`` at a time.
    ///
    /// The work (milliseconds of CPU per text) runs on the cooperative pool (`globalConcurrentExecutor`), never on
    /// a task executor the caller prefers: a caller running on a NIO event loop (a task-executor preference) keeps
    /// that loop, and its other connections, free while the texts are encoded, and gets the vectors back there.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await withTaskExecutorPreference(globalConcurrentExecutor) { try await encode(texts) }
    }

    /// ``embed(_:)`` on whatever executor runs it; the batches are child tasks, which inherit its preference.
    private func encode(_ texts: [String]) async throws -> [[Float]] {
        let sequences = texts.map(tokenizer.encode)
        let batches = Self.batches(tokenCounts: sequences.map(\.count), parallelism: parallelism)
        if batches.count <= 1 { return encoder.embed(sequences) }
        let encoder = self.encoder
        var result = [[Float]](repeating: [], count: sequences.count)
        try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            var next = 0
            func submit() {
                let range = batches[next]
                let slice = Array(sequences[range])
                group.addTask {
                    try Task.checkCancellation()
                    return (range.lowerBound, encoder.embed(slice))
                }
                next += 1
            }
            while next < min(parallelism, batches.count) { submit() }
            while let (offset, vectors) = try await group.next() {
                for (i, vector) in vectors.enumerated() { result[offset + i] = vector }
                if next < batches.count { submit() }
            }
        }
        return result
    }

    /// How ``embed(_:)`` cuts texts of `tokenCounts` tokens into batches of consecutive texts: a batch closes once it
    /// holds ``batchTokens`` tokens or an even share of all of them over `parallelism` cores, whichever is less. So a
    /// call with fewer than `parallelism × batchTokens` tokens (one document's chunks at ingestion) is split evenly
    /// over the cores, not into one full batch and a short remainder that leaves a core idle for most of the call.
    /// Every text is in exactly one batch, in order; no batch is empty.
    public static func batches(tokenCounts: [Int], parallelism: Int) -> [Range<Int>] {
        let cores = max(1, parallelism)
        let total = tokenCounts.reduce(0) { $0 + max(0, $1) }
        let limit = max(1, min(batchTokens, (total + cores - 1) / cores))
        var batches: [Range<Int>] = []
        var start = 0, tokens = 0
        for (i, count) in tokenCounts.enumerated() {
            tokens += max(0, count)
            if tokens >= limit {
                batches.append(start..<(i + 1))
                start = i + 1
                tokens = 0
            }
        }
        if start < tokenCounts.count { batches.append(start..<tokenCounts.count) }
        return batches
    }

    /// Whether this CPU runs the kernels: on x86-64, CPUID and XGETBV report AVX2 and FMA enabled (elsewhere, true).
    public static func cpuSupported() -> Bool { GEMMKernel.selected != nil }

    static func encoder(_ file: SafeTensors, kernel: GEMMKernel) throws -> BertEncoder {
        let h = dimensions
        func norm(_ prefix: String) throws -> LayerNorm {
            LayerNorm(gamma: try file.floats(prefix + ".weight", shape: [h]), beta: try file.floats(prefix + ".bias", shape: [h]))
        }
        func part(_ prefix: String, _ outputs: Int, _ inputs: Int) throws -> (weight: [Float], bias: [Float], outputs: Int) {
            (try file.floats(prefix + ".weight", shape: [outputs, inputs]), try file.floats(prefix + ".bias", shape: [outputs]), outputs)
        }
        func linear(_ prefix: String, _ outputs: Int, _ inputs: Int) throws -> PackedLinear {
            let p = try part(prefix, outputs, inputs)
            return PackedLinear(weight: p.weight, bias: p.bias, outputs: outputs, inputs: inputs, kernel: kernel)
        }
        guard let vocabularyRows = file.entries["embeddings.word_embeddings.weight"]?.shape.first, vocabularyRows > 0 else {
            throw MiniLMError(.tensorMismatch, "tensor embeddings.word_embeddings.weight is missing")
        }
        var layers: [BertLayer] = []
        for l in 0..<Self.layers {
            let p = "encoder.layer.\(l)."
            let attention = p + "attention.self."
            layers.append(
                BertLayer(
                    qkv: PackedLinear(
                        concatenating: [try part(attention + "query", h, h), try part(attention + "key", h, h), try part(attention + "value", h, h)],
                        inputs: h, kernel: kernel),
                    attentionOutput: try linear(p + "attention.output.dense", h, h),
                    attentionNorm: try norm(p + "attention.output.LayerNorm"),
                    intermediate: try linear(p + "intermediate.dense", Self.intermediate, h),
                    output: try linear(p + "output.dense", h, Self.intermediate),
                    outputNorm: try norm(p + "output.LayerNorm")))
        }
        return BertEncoder(
            hidden: h, heads: Self.heads,
            wordEmbeddings: try file.floats("embeddings.word_embeddings.weight", shape: [vocabularyRows, h]),
            positionEmbeddings: try file.floats("embeddings.position_embeddings.weight", shape: [512, h]),
            tokenTypeEmbedding: Array(try file.floats("embeddings.token_type_embeddings.weight", shape: [2, h]).prefix(h)),
            embeddingNorm: try norm("embeddings.LayerNorm"), layers: layers)
    }
}
