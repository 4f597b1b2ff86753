import MiniLM
import Testing

@Suite("MiniLM batching: every text once, in order, and the work shared evenly over the cores")
struct BatchingTests {
    /// The batches cover `0..<count` in order with no gap, overlap or empty batch.
    func expectPartition(_ batches: [Range<Int>], count: Int, _ label: String) {
        var next = 0
        for batch in batches {
            #expect(batch.lowerBound == next && !batch.isEmpty, "\(label): \(batches)")
            next = batch.upperBound
        }
        #expect(next == count, "\(label): \(batches) for \(count) texts")
    }

    @Test("a large call is cut into full batches of 2,048 tokens, as before")
    func largeCall() {
        let batches = MiniLMEmbedder.batches(tokenCounts: Array(repeating: 128, count: 256), parallelism: 2)
        expectPartition(batches, count: 256, "256 × 128")
        #expect(batches.count == 16 && batches.allSatisfy { $0.count == 16 }, "\(batches)")
    }

    @Test("a call below two full batches is split evenly over two cores, not into a full batch and a remainder",
          arguments: [(20, 10), (17, 9), (3, 2), (2, 1)])
    func evenSplit(texts: Int, first: Int) {
        let batches = MiniLMEmbedder.batches(tokenCounts: Array(repeating: 128, count: texts), parallelism: 2)
        expectPartition(batches, count: texts, "\(texts) × 128")
        #expect(batches.count == 2 && batches[0].count == first, "\(texts) texts: \(batches)")
    }

    @Test("one core, one text, no text, empty texts and uneven lengths are all covered")
    func edges() {
        expectPartition(MiniLMEmbedder.batches(tokenCounts: [5, 7, 9], parallelism: 1), count: 3, "one core")
        #expect(MiniLMEmbedder.batches(tokenCounts: [5, 7, 9], parallelism: 1).count == 1)
        #expect(MiniLMEmbedder.batches(tokenCounts: [256], parallelism: 2) == [0..<1])
        #expect(MiniLMEmbedder.batches(tokenCounts: [], parallelism: 2).isEmpty)
        expectPartition(MiniLMEmbedder.batches(tokenCounts: [2, 2, 2], parallelism: 0), count: 3, "parallelism 0")
        let uneven = [256, 3, 3, 3, 256, 256, 2, 2, 2, 256, 100]
        let batches = MiniLMEmbedder.batches(tokenCounts: uneven, parallelism: 2)
        expectPartition(batches, count: uneven.count, "uneven")
        #expect(batches.count == 2, "\(batches)")
    }
}
