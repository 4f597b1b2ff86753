import Foundation
import Models
import Retrieval
import SealgateCore
import SealgateTestSupport
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

    /// The ranking rule written out plainly: IDF weights over the selected collections, cosine under them,
    /// positive scores only, ties by document id and chunk index.
    static func referenceSearch(
        _ entries: [IndexEntry], collections: Set<String>, classes: Set<String>, query: [Float], topK: Int, dims: Int
    ) -> [(String, Int, Double)] {
        let selected = entries.filter { collections.contains($0.collection.rawValue) }
        var weight = [Double](repeating: 1, count: dims)
        for d in 0..<dims {
            let df = selected.filter { $0.vector[d] != 0 }.count
            let w = log(Double(selected.count + 1) / Double(df + 1)) + 1
            weight[d] = w * w
        }
        let qNorm = (0..<dims).reduce(0.0) { $0 + Double(query[$1]) * Double(query[$1]) * weight[$1] }.squareRoot()
        var hits: [(String, Int, Double)] = []
        for e in selected where classes.contains(e.dataClass.rawValue) {
            let dot = (0..<dims).reduce(0.0) { $0 + Double(query[$1]) * Double(e.vector[$1]) * weight[$1] }
            let norm = (0..<dims).reduce(0.0) { $0 + Double(e.vector[$1]) * Double(e.vector[$1]) * weight[$1] }.squareRoot()
            guard dot > 0, norm > 0 else { continue }
            hits.append((e.documentID.rawValue, e.chunkIndex, dot / (qNorm * norm)))
        }
        hits.sort { $0.2 != $1.2 ? $0.2 > $1.2 : ($0.0, $0.1) < ($1.0, $1.1) }
        return Array(hits.prefix(max(1, topK)))
    }

    @Test("Index search ranks exactly as the plain rule: weights, classes, ties, collections, upserts and removals")
    func searchMatchesReference() async {
        var generator = SplitMix64(seed: 0x5EA1_6A7E)  // seeded: a failure reproduces
        let dims = 77  // not a multiple of the SIMD width
        func vector(density: Double) -> [Float] {
            (0..<dims).map { _ in Double.random(in: 0..<1, using: &generator) < density ? Float.random(in: -1...1, using: &generator) : 0 }
        }
        let classes = ["public", "internal", "restricted"]
        var entries: [IndexEntry] = []
        for doc in 0..<40 {
            let collection = doc % 3 == 0 ? "clinical" : "handbook"
            for chunk in 0..<(1 + doc % 4) {
                entries.append(
                    IndexEntry(
                        collection: CollectionName(unchecked: collection), documentID: DocumentID(unchecked: "d\(doc)"), chunkIndex: chunk,
                        dataClass: DataClass(unchecked: classes[(doc + chunk) % 3]), vector: vector(density: [0.1, 0.6, 1][doc % 3])))
            }
        }
        // Exact duplicates in other documents: equal scores, ordered by document id.
        for copy in ["x2", "x0", "x1"] {
            let e = entries[0]
            entries.append(IndexEntry(collection: e.collection, documentID: DocumentID(unchecked: copy), chunkIndex: e.chunkIndex, dataClass: e.dataClass, vector: e.vector))
        }
        let index = VectorIndex(dimensions: dims, idfWeighting: true)
        let tenant = TenantID(unchecked: "acme")
        await index.replace(tenant: tenant, entries: entries, epoch: 1)
        func check(_ entries: [IndexEntry], _ label: String) async {
            for (collections, allowed, topK) in [
                (["handbook"], ["public", "internal", "restricted"], 5), (["handbook", "clinical"], ["internal"], 7),
                (["clinical"], ["public", "restricted"], 1), (["handbook", "clinical"], ["public", "internal", "restricted"], 200),
            ] {
                for _ in 0..<5 {
                    let query = vector(density: 0.5)
                    let expected = Self.referenceSearch(
                        entries, collections: Set(collections), classes: Set(allowed), query: query, topK: topK, dims: dims)
                    let hits = await index.search(
                        tenant: tenant, collections: collections.map(CollectionName.init(unchecked:)),
                        classes: Set(allowed.map(DataClass.init(unchecked:))), query: query, topK: topK)
                    #expect(hits.count == expected.count, "\(label)")
                    for (hit, want) in zip(hits, expected) {
                        // Float sums against a Double reference: near-equal scores may swap, so compare scores by tolerance.
                        #expect(abs(hit.score - want.2) < 1e-4, "\(label) \(hit.documentID)#\(hit.chunkIndex) vs \(want)")
                    }
                    // Position by position: the same entry, or one whose expected score ties a neighbour's within
                    // float error (then the two may legitimately swap).
                    for (i, (hit, want)) in zip(hits, expected).enumerated() {
                        let same = hit.documentID.rawValue == want.0 && hit.chunkIndex == want.1
                        let tiesNeighbour = [i - 1, i + 1].contains { j in
                            expected.indices.contains(j) && abs(expected[j].2 - want.2) < 1e-5
                        }
                        #expect(same || tiesNeighbour, "\(label) position \(i): \(hit.documentID)#\(hit.chunkIndex) vs \(want)")
                    }
                }
            }
        }
        await check(entries, "built")
        // Replace one document, remove another: frequencies and rows follow.
        let replaced = IndexEntry(collection: CollectionName(unchecked: "handbook"), documentID: DocumentID(unchecked: "d1"), chunkIndex: 0, dataClass: DataClass(unchecked: "internal"), vector: vector(density: 0.6))
        await index.upsert(tenant: tenant, collection: replaced.collection, documentID: replaced.documentID, entries: [replaced])
        await index.remove(tenant: tenant, collection: CollectionName(unchecked: "handbook"), documentID: DocumentID(unchecked: "d2"))
        entries.removeAll { $0.documentID.rawValue == "d1" || $0.documentID.rawValue == "d2" }
        entries.append(replaced)
        await check(entries, "after upsert and removal")
        #expect(await index.count(tenant: tenant) == entries.count)
        // The duplicated entry and its copies tie (the query is their own vector); their order is by document id.
        let e = entries[0]
        let tied = await index.search(tenant: tenant, collections: [e.collection], classes: [e.dataClass], query: e.vector, topK: 4)
        #expect(tied.map(\.documentID.rawValue) == ["d0", "x0", "x1", "x2"])
        #expect(Set(tied.map(\.score)).count == 1)
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

