import Foundation
import Models
import Retrieval
import SealgateCore
import Testing

@Suite("Chunking, the built-in embedder, the index and the extractive model")
struct RetrievalTests {
    @Test("Chunks respect the size, overlap, and cover the whole text")
    func chunking() {
        let sentence = "Sentence number N talks about topic N in some detail. "
        let text = (0..<60).map { sentence.replacingOccurrences(of: "N", with: String($0)) }.joined()
        let chunker = Chunker(targetCharacters: 400, overlap: 80)
        let chunks = chunker.chunks(of: text)
        #expect(chunks.count > 5)
        #expect(chunks.allSatisfy { $0.count <= 400 })
        #expect(chunks.first?.hasPrefix("Sentence number 0") == true)
        #expect(chunks.last?.hasSuffix("topic 59 in some detail.") == true)
        for (a, b) in zip(chunks, chunks.dropFirst()) {
            let tail = String(a.suffix(30))
            #expect(b.contains(tail.split(separator: " ").dropFirst().prefix(2).joined(separator: " ")))
        }
        #expect(chunker.chunks(of: "   ").isEmpty)
    }

    @Test("The index finds the relevant chunk and respects collections and classes")
    func search() async {
        let embedder = HashingEmbedder(dimensions: 512)
        let texts = [
            ("handbook", "internal", "Remote work is allowed three days per week."),
            ("handbook", "public", "The cafeteria serves lunch from noon."),
            ("clinical", "restricted", "Sepsis patients receive antibiotics within one hour."),
        ]
        let index = VectorIndex(dimensions: 512, idfWeighting: true)
        let entries = texts.enumerated().map { i, t in
            IndexEntry(collection: CollectionName(unchecked: t.0), documentID: DocumentID(unchecked: "d\(i)"), chunkIndex: 0, dataClass: DataClass(unchecked: t.1), vector: embedder.vector(t.2))
        }
        let tenant = TenantID(unchecked: "acme")
        await index.replace(tenant: tenant, entries: entries, epoch: 1)
        let all = Set(["public", "internal", "restricted"].map(DataClass.init(unchecked:)))
        let hits = await index.search(tenant: tenant, collections: [CollectionName(unchecked: "handbook")], classes: all, query: embedder.vector("how many remote work days per week"), topK: 2)
        #expect(hits.first?.documentID.rawValue == "d0")
        let scoped = await index.search(tenant: tenant, collections: [CollectionName(unchecked: "handbook")], classes: all, query: embedder.vector("sepsis antibiotics"), topK: 5)
        #expect(!scoped.contains { $0.documentID.rawValue == "d2" })
        let lowClass = await index.search(tenant: tenant, collections: [CollectionName(unchecked: "clinical")], classes: [DataClass(unchecked: "public")], query: embedder.vector("sepsis antibiotics"), topK: 5)
        #expect(lowClass.isEmpty)
        let otherTenant = await index.search(tenant: TenantID(unchecked: "globex"), collections: [CollectionName(unchecked: "handbook")], classes: all, query: embedder.vector("remote work"), topK: 5)
        #expect(otherTenant.isEmpty)
    }

    @Test("The extractive model quotes relevant sentences with citations, or says it found nothing")
    func extractive() async throws {
        let model = ExtractiveModel()
        let citation = Citation(collection: CollectionName(unchecked: "c"), documentID: DocumentID(unchecked: "d"), chunkIndex: 0, score: 0.5)
        let passage = ContextPassage(citation: citation, text: "The gym opens at six. Showers are on the second floor. Towels cost two euros.")
        let answer = try await model.answer(ModelPrompt(question: "Where are the showers?", passages: [passage]))
        #expect(answer.text == "Showers are on the second floor. [1]")
        #expect(answer.citations == [citation])
        let none = try await model.answer(ModelPrompt(question: "What is the submarine's colour?", passages: [passage]))
        #expect(none.text == ExtractiveModel.nothingFound)
        #expect(none.citations.isEmpty)
        var streamed = ""
        for try await delta in model.stream(ModelPrompt(question: "Where are the showers?", passages: [passage])) { streamed += delta }
        #expect(streamed == answer.text)
    }
}
