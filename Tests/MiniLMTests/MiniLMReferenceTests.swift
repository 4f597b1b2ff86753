import Foundation
import MiniLM
import SealgateTestSupport
import MiniLMKernels
import Testing

let weightsAbsent = minilmWeightsAbsent

/// The committed reference: texts, the reference tokenizer's ids and sentence-transformers' vectors (float16).
struct Reference: Decodable {
    struct Case: Decodable {
        let text: String
        let tokenIDs: [Int32]
        let vectorF16: String
        enum CodingKeys: String, CodingKey {
            case text
            case tokenIDs = "token_ids"
            case vectorF16 = "vector_f16"
        }
        var vector: [Float] {
            let bytes = [UInt8](Data(base64Encoded: vectorF16) ?? Data())
            return stride(from: 0, to: bytes.count - 1, by: 2).map { Float(Float16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8)) }
        }
    }
    let torch: String
    let cases: [Case]

    static func load() throws -> Reference {
        let url = try #require(Bundle.module.url(forResource: "minilm-reference", withExtension: "json", subdirectory: "Vectors"))
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in 0..<min(a.count, b.count) {
        dot += Double(a[i]) * Double(b[i])
        na += Double(a[i]) * Double(a[i])
        nb += Double(b[i]) * Double(b[i])
    }
    return dot / max((na * nb).squareRoot(), 1e-30)
}

@Suite("MiniLM: agreement with sentence-transformers on the committed reference texts")
struct MiniLMReferenceTests {
    @Test("the reference set is what the issue asks: ≥ 200 texts, empty, non-ASCII and over-length among them")
    func referenceShape() throws {
        let reference = try Reference.load()
        #expect(reference.cases.count >= 200)
        #expect(reference.cases.contains { $0.text.isEmpty })
        #expect(reference.cases.contains { $0.text.unicodeScalars.contains { $0.value > 0x3000 } })
        #expect(reference.cases.contains { $0.tokenIDs.count == 256 })
        #expect(reference.cases.allSatisfy { $0.vector.count == MiniLMEmbedder.dimensions })
    }

    @Test("WordPiece ids equal the reference tokenizer's on every text (truncation at 256 included)",
          .enabled(if: minilmDirectory != nil, "\(weightsAbsent)"))
    func tokenizerMatches() throws {
        let dir = try #require(minilmDirectory)
        let tokenizer = try WordPieceTokenizer(vocabulary: Data(contentsOf: URL(fileURLWithPath: dir + "/vocab.txt")))
        for (i, c) in try Reference.load().cases.enumerated() {
            #expect(tokenizer.encode(c.text) == c.tokenIDs, "case \(i)")
        }
    }

    @Test("cosine ≥ 0.9999 with sentence-transformers on every reference text, with each GEMM kernel this CPU runs; batches agree with single texts",
          .enabled(if: minilmDirectory != nil, "\(weightsAbsent)"), arguments: runnableKernels)
    func vectorsMatch(kernel: GEMMKernel) async throws {
        let dir = try #require(minilmDirectory)
        let embedder = try MiniLMEmbedder(directory: URL(fileURLWithPath: dir), kernel: kernel)
        #expect(embedder.kernel == kernel)
        if kernel == GEMMKernel.selected { #expect(try MiniLMEmbedder(directory: URL(fileURLWithPath: dir)).kernel == kernel) }
        #expect(embedder.identifier.hasPrefix("minilm-l6-v2-384-"))
        let reference = try Reference.load()
        let vectors = try await embedder.embed(reference.cases.map(\.text))
        #expect(vectors.count == reference.cases.count)
        var worst = 1.0
        for (i, c) in reference.cases.enumerated() {
            let similarity = cosine(vectors[i], c.vector)
            worst = min(worst, similarity)
            #expect(similarity >= 0.9999, "case \(i): cosine \(similarity)")
        }
        print("MiniLM (\(kernel)) vs sentence-transformers (torch \(reference.torch)): \(reference.cases.count) texts, worst cosine \(worst)")
        let single = try await embedder.embed([reference.cases[11].text])
        #expect(cosine(single[0], vectors[11]) > 0.999_999)
        let norm = vectors[11].reduce(Float(0)) { $0 + $1 * $1 }
        #expect(abs(norm - 1) < 1e-4)
    }

    @Test("a real weights file cut short or with its header length changed is refused, never read",
          .enabled(if: minilmDirectory != nil, "\(weightsAbsent)"))
    func truncatedWeightsRefused() throws {
        let dir = try #require(minilmDirectory)
        let weights = try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors"), options: .alwaysMapped)
        let vocabulary = try Data(contentsOf: URL(fileURLWithPath: dir + "/vocab.txt"))
        let cut = weights.prefix(weights.count - 4)
        #expect(throws: MiniLMError.self) { try MiniLMEmbedder(weights: Data(cut), vocabulary: vocabulary) }
        do {
            _ = try MiniLMEmbedder(weights: Data(cut), vocabulary: vocabulary)
        } catch let error as MiniLMError {
            #expect(error.reason == .safetensorsMalformed)
        }
        #expect(throws: MiniLMError(.vocabularyMalformed, "vocab.txt lacks [CLS], [SEP] or [UNK]")) {
            try MiniLMEmbedder(weights: weights, vocabulary: Data("a\nb\n".utf8))
        }
    }
}
