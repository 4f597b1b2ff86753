// The approximate index (issue #17) on one core: recall@10 against exact cosine search, queries per second and
// latency percentiles per efSearch, memory per chunk, and start-up from a sealed snapshot against a rebuild.
// It runs the gateway's configuration: int8 codes and HNSW graph in memory, candidates rescored from AES-GCM-sealed
// full-precision embeddings opened per query (DEKCipher, as TenantIndex does with the store).
// Usage: ANNBench <vectors.f32> <queries.f32> <dims> [efSearch,...]   (little-endian float32, row-major)
import Crypto
import Foundation
import Retrieval
import SealgateCore
import Sealing

func readMatrix(_ path: String, dims: Int) -> [[Float]] {
    guard let data = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
    let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    return stride(from: 0, to: floats.count, by: dims).map { Array(floats[$0..<($0 + dims)]) }
}

func rssKB() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

let args = CommandLine.arguments
guard args.count >= 4, let dims = Int(args[3]) else { fatalError("usage: ANNBench vectors.f32 queries.f32 dims [ef,...]") }
let efs = (args.count > 4 ? args[4] : "16,32,64,128").split(separator: ",").compactMap { Int($0) }
let vectors = readMatrix(args[1], dims: dims)
let queries = readMatrix(args[2], dims: dims)
let n = vectors.count
let tenant = TenantID(unchecked: "acme")
let collection = CollectionName(unchecked: "bench")
let dataClass = DataClass(unchecked: "internal")
print("vectors=\(n) dims=\(dims) queries=\(queries.count)")

// Exact top-10 by cosine (float), the recall reference.
func normalised(_ v: [Float]) -> [Float] {
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return norm > 0 ? v.map { $0 / norm } : v
}
let unit = vectors.map(normalised)
var t0 = now()
let truth: [[Int]] = queries.map { q in
    let u = normalised(q)
    var scored = [(Float, Int)]()
    scored.reserveCapacity(n)
    for (i, v) in unit.enumerated() {
        var dot: Float = 0
        for d in 0..<dims { dot += u[d] * v[d] }
        scored.append((dot, i))
    }
    return scored.sorted { $0.0 > $1.0 }.prefix(10).map(\.1)
}
print(String(format: "exact_reference_seconds=%.2f", now() - t0))

// The sealed store: each embedding sealed under one document DEK (the DEK cache's steady state).
let dek = Envelope.makeDEK()
let cipher = try DEKCipher(dek: dek)
@Sendable func context(_ i: Int) -> SealingContext {
    SealingContext(
        tenant: tenant, collection: collection, documentID: DocumentID(unchecked: "d\(i)"), chunkIndex: 0, dataClass: dataClass,
        kekVersion: 1, field: .embedding)
}
let sealed = try vectors.indices.map { try cipher.seal(Envelope.encode(vector: vectors[$0]), context: context($0)) }
let source: VectorIndex.VectorSource = { refs in
    try refs.map { ref in
        guard let i = Int(ref.documentID.rawValue.dropFirst()) else { return nil }
        return try Envelope.decodeVector(cipher.open(sealed[i], context: context(i)))
    }
}

// Rebuild as a new lease epoch does without a snapshot: open every embedding, then build.
var options = IndexOptions.sealed
let rssBefore = rssKB()
t0 = now()
let opened = try sealed.indices.map { try Envelope.decodeVector(cipher.open(sealed[$0], context: context($0))) }
let decryptSeconds = now() - t0
let entries = opened.enumerated().map {
    IndexEntry(collection: collection, documentID: DocumentID(unchecked: "d\($0.offset)"), chunkIndex: 0, dataClass: dataClass, vector: $0.element)
}
t0 = now()
let index = VectorIndex(dimensions: dims, idfWeighting: false, options: options)
await index.replace(tenant: tenant, entries: entries, epoch: 1)
let buildSeconds = now() - t0
let estimate = await index.memoryBytes(tenant: tenant)
print(String(format: "rebuild_decrypt_seconds=%.3f build_seconds=%.2f", decryptSeconds, buildSeconds))
print("index_bytes_per_chunk=\(estimate / n) (estimate: codes, graph, ids, norms)")
print("rss_delta_per_chunk_bytes=\((rssKB() - rssBefore) * 1024 / n) (includes the decrypted entries array of the build)")

// Snapshot: encode + seal, then open + decode (what a restart does instead of the rebuild).
let subs = await index.subIndexes(tenant: tenant)
guard let (key, sub) = subs.first else { fatalError("no sub-index") }
let kek = SymmetricKey(size: .bits256)
let binding = SnapshotBinding(tenant: tenant, collection: collection, dataClass: dataClass, embedder: "bench", epoch: 1, kekVersion: 1)
t0 = now()
let snapshot = try IndexSnapshotSeal.seal(Data(sub.encoded()), binding: binding, kek: kek)
let sealSeconds = now() - t0
t0 = now()
let reopened = try ClassIndex.decode([UInt8](try IndexSnapshotSeal.open(snapshot, kek: kek)), dimensions: dims, idfWeighting: false, options: options)
let loadSeconds = now() - t0
print(String(format: "snapshot_bytes_per_chunk=%d seal_seconds=%.3f load_seconds=%.3f", snapshot.count / n, sealSeconds, loadSeconds))

print("efSearch,recall@10,qps,p50_us,p99_us")
for ef in efs {
    options.efSearch = ef
    let variant = VectorIndex(dimensions: dims, idfWeighting: false, options: options)
    let decoded = try ClassIndex.decode(sub.encoded(), dimensions: dims, idfWeighting: false, options: options)
    await variant.replace(variant.beginBuild(tenant: tenant), loaded: [key: decoded], entries: [], epoch: 1)
    var found = 0
    var latencies: [Double] = []
    let start = now()
    for (q, query) in queries.enumerated() {
        let t = now()
        let hits = try await variant.search(tenant: tenant, collections: [collection], classes: [dataClass], query: query, topK: 10, vectors: source)
        latencies.append(now() - t)
        let got = Set(hits.compactMap { Int($0.documentID.rawValue.dropFirst()) })
        found += got.intersection(truth[q]).count
    }
    let total = now() - start
    latencies.sort()
    let p50 = latencies[latencies.count / 2] * 1e6
    let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1e6
    print(String(format: "%d,%.4f,%.0f,%.0f,%.0f", ef, Double(found) / Double(queries.count * 10), Double(queries.count) / total, p50, p99))
}
_ = reopened.count
