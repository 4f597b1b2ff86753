// Recall@10 of the approximate index against exact search on real text with the built-in (hashing) embedder, which
// the index weights by inverse document frequency (issue #17, tests: "real embeddings (the built-in embedder over the
// benchmark corpus …)"). The gateway's own pieces: `Chunker` (800 / 160), `HashingEmbedder` (1,024 dimensions),
// `VectorIndex` with IDF weighting, the gateway's graph, width (`auto`) and rescoring counts; the exact reference is
// the same index scanning and rescoring everything.
// Usage: HashRecallBench DOCS.jsonl QUERIES.jsonl [n,...] [ef,...] [rescore factor,...]
// Environment: M, EFC override the graph's links and construction width (defaults: the gateway's for this embedder,
// `IndexOptions.forIDFWeighting`); BF the size below which a sub-index is scanned instead of searched through its graph
// (default 2048, the gateway's).
//   DOCS.jsonl: {"text": ...} per line (chunked here); QUERIES.jsonl: {"query": ...} per line (up to 1,000 used).
//   n: chunk counts to measure (default: 10000,100000, capped at what the documents give); ef: widths (default auto).
import Foundation
import Retrieval
import SealgateCore

/// One line to standard output, unbuffered (a long run shows its sizes as they finish).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
let args = CommandLine.arguments
guard args.count >= 3 else { fatalError("usage: HashRecallBench DOCS.jsonl QUERIES.jsonl [n,...] [ef,...]") }
func lines(_ path: String, _ key: String) -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
    return data.split(separator: UInt8(ascii: "\n")).compactMap {
        (try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any])?[key] as? String
    }
}
let chunker = Chunker()
let chunks = lines(args[1], "text").flatMap(chunker.chunks(of:))
let queryTexts = Array(lines(args[2], "query").prefix(1000))
let sizes = (args.count > 3 ? args[3] : "10000,100000").split(separator: ",").compactMap { Int($0) }.map { min($0, chunks.count) }
let widths: [Int?] = (args.count > 4 ? args[4] : "auto").split(separator: ",").map { $0 == "auto" ? nil : Int($0) }
// Rescoring factors (candidates rescored: max(10 × factor, 10)); the gateway's is 2.
let rescores = (args.count > 5 ? args[5] : "2").split(separator: ",").compactMap { Int($0) }
let embedder = HashingEmbedder()
// The gateway's options for this embedder's IDF-weighted sub-indexes (graph links, construction and `auto` width).
let gateway = IndexOptions.sealed.forIDFWeighting
say("chunks available=\(chunks.count) queries=\(queryTexts.count) dims=\(embedder.dimensions)")
let queries = queryTexts.map(embedder.vector)
// Questions with at most 96 non-zero dimensions are answered by the column scan alone (the exact int8 search); the
// graph (whose M / EFC this run may lower to build faster) serves only the others.
let shortQuestions = queries.filter { $0.filter { $0 != 0 }.count <= 96 }.count
say("questions with at most 96 non-zero dimensions (column scan only): \(shortQuestions) of \(queries.count)")
let tenant = TenantID(unchecked: "acme")
let collection = CollectionName(unchecked: "bench")
let dataClass = DataClass(unchecked: "internal")

for n in Set(sizes).sorted() {
    // Evenly spaced chunks over all documents.
    let vectors = (0..<n).map { embedder.vector(chunks[$0 * chunks.count / n]) }
    let entries = vectors.enumerated().map {
        IndexEntry(collection: collection, documentID: DocumentID(unchecked: "d\($0.offset)"), chunkIndex: 0, dataClass: dataClass, vector: $0.element)
    }
    let exact = VectorIndex(
        dimensions: embedder.dimensions, idfWeighting: true, options: IndexOptions(bruteForceBelow: .max, rescoreMinimum: 1 << 20))
    await exact.replace(tenant: tenant, entries: entries, epoch: 1)
    var truth: [Set<String>] = []
    var tenth: [Double] = []
    for q in queries {
        let hits = await exact.search(tenant: tenant, collections: [collection], classes: [dataClass], query: q, topK: 10)
        truth.append(Set(hits.map(\.documentID.rawValue)))
        tenth.append(hits.last?.score ?? -.infinity)
    }
    for (width, rescore) in widths.flatMap({ w in rescores.map { (w, $0) } }) {
        // The gateway's options (`IndexOptions.sealed`'s graph, width and rescoring counts), full-precision vectors in
        // memory instead of opened from the sealed store: the same candidates and scores.
        let env = ProcessInfo.processInfo.environment
        var options = IndexOptions(
            m: env["M"].flatMap { Int($0) } ?? gateway.m, efConstruction: env["EFC"].flatMap { Int($0) } ?? gateway.efConstruction,
            bruteForceBelow: env["BF"].flatMap { Int($0) } ?? 2048, rescoreFactor: rescore, keepsFullPrecision: true)
        if let width {
            options.efSearch = width
            options.efSearchGrows = false
        } else {
            options.efSearch = gateway.efSearch
        }
        let index = VectorIndex(dimensions: embedder.dimensions, idfWeighting: true, options: options)
        let start = Date()
        await index.replace(tenant: tenant, entries: entries, epoch: 1)
        let built = Date().timeIntervalSince(start)
        var found = 0
        var tied = 0
        var wanted = 0
        let searchStart = clock()
        for (k, q) in queries.enumerated() {
            let hits = await index.search(tenant: tenant, collections: [collection], classes: [dataClass], query: q, topK: 10)
            wanted += truth[k].count
            found += truth[k].intersection(hits.map(\.documentID.rawValue)).count
            // Ties: real text repeats itself (boilerplate, near-identical pages), so several chunks can share the
            // tenth-best score and exact search's pick among them is arbitrary. A hit scoring at least the exact
            // tenth score (rescoring is exact) is as good an answer.
            tied += min(truth[k].count, hits.filter { $0.score >= tenth[k] - 1e-6 }.count)
        }
        let cpuPerQuery = Double(clock() - searchStart) / Double(CLOCKS_PER_SEC) / Double(max(1, queries.count)) * 1e6
        let recall = wanted == 0 ? 1 : Double(found) / Double(wanted)
        let tieAware = wanted == 0 ? 1 : Double(tied) / Double(wanted)
        say(String(format: "n=%d ef=%@ rescore=%d scan_below=%d recall@10=%.4f tie-aware=%.4f cpu_us_per_query=%.0f build_seconds=%.1f", n,
            width.map(String.init) ?? "auto(\(options.efSearch(nodes: n)))", max(rescore * 10, options.rescoreMinimum), options.bruteForceBelow,
            recall, tieAware, cpuPerQuery, built))
    }
}
