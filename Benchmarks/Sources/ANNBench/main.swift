// The approximate index (issue #17): recall@10 against exact cosine search, queries per second, latency percentiles
// and CPU time per query on one core per kernel and efSearch, memory per chunk, the graph build on every core, and
// start-up from a sealed snapshot against a rebuild.
// It runs the gateway's configuration: int8 codes and HNSW graph in memory, candidates rescored from AES-GCM-sealed
// full-precision embeddings opened per query (DEKCipher, as TenantIndex does with the store).
// Usage: ANNBench <vectors.f32> <queries.f32> <dims> [efSearch,...] [truth.i32]   (little-endian float32, row-major;
// truth: the exact top 10 of each query as int32 rows, computed here when not given)
// Environment: KERNELS (default "selected,portable": the dispatched kernel and the portable one, same run).
import Crypto
import Foundation
import Retrieval
import SealgateCore
import Sealing

#if canImport(Glibc)
import Glibc
#endif

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

/// CPU seconds of this process (all threads).
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Pins every thread of the process to CPU 0 with taskset (queries run one at a time on one core, as hnswlib's do).
func pinToFirstCore() {
    let taskset = Process()
    taskset.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
    taskset.arguments = ["-a", "-p", "-c", "0", "\(getpid())"]
    taskset.standardOutput = FileHandle.nullDevice
    do {
        try taskset.run()
        taskset.waitUntilExit()
    } catch {
        print("taskset unavailable: queries not pinned")
    }
}

let args = CommandLine.arguments
guard args.count >= 4, let dims = Int(args[3]) else { fatalError("usage: ANNBench vectors.f32 queries.f32 dims [ef,...] [truth.i32]") }
// `auto` is the gateway's default (`retrieval.ef_search: auto`): 64, growing with the graph (IndexOptions.efSearch(nodes:)).
let efs: [Int?] = (args.count > 4 ? args[4] : "16,32,64,128").split(separator: ",").compactMap { $0 == "auto" ? .some(nil) : Int($0).map { .some($0) } }
let kernels: [SimilarityKernel] = (ProcessInfo.processInfo.environment["KERNELS"] ?? "selected,portable").split(separator: ",").compactMap {
    $0 == "selected" ? SimilarityKernel.selected : SimilarityKernel(rawValue: String($0))
}.filter(\.runsHere)
let vectors = readMatrix(args[1], dims: dims)
let queries = readMatrix(args[2], dims: dims)
let n = vectors.count
let tenant = TenantID(unchecked: "acme")
let collection = CollectionName(unchecked: "bench")
let dataClass = DataClass(unchecked: "internal")
print("vectors=\(n) dims=\(dims) queries=\(queries.count) kernel=\(SimilarityKernel.selected) build_threads=\(ProcessInfo.processInfo.activeProcessorCount)")

// Exact top-10 by cosine (float, eight lanes), the recall reference.
func normalised(_ v: [Float]) -> [Float] {
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return norm > 0 ? v.map { $0 / norm } : v
}
var t0 = now()
let truth: [[Int]] = {
    if args.count > 5 {
        guard let data = FileManager.default.contents(atPath: args[5]) else { fatalError("cannot read \(args[5])") }
        let ids = data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        return stride(from: 0, to: ids.count, by: 10).map { ids[$0..<($0 + 10)].map(Int.init) }
    }
    let unit = vectors.flatMap(normalised)
    return queries.map { q in
        let u = normalised(q)
        var best: [(Float, Int)] = []
        unit.withUnsafeBufferPointer { all in
            u.withUnsafeBufferPointer { query in
                guard let base = all.baseAddress, let qp = query.baseAddress else { return }
                for i in 0..<n {
                    let v = UnsafeRawPointer(base + i * dims)
                    var acc = SIMD8<Float>()
                    var d = 0
                    while d + 8 <= dims {
                        acc += v.loadUnaligned(fromByteOffset: 4 * d, as: SIMD8<Float>.self)
                            * UnsafeRawPointer(qp).loadUnaligned(fromByteOffset: 4 * d, as: SIMD8<Float>.self)
                        d += 8
                    }
                    var dot = acc.sum()
                    while d < dims {
                        dot += base[i * dims + d] * qp[d]
                        d += 1
                    }
                    if best.count < 10 || dot > best[best.count - 1].0 {
                        best.append((dot, i))
                        best.sort { $0.0 > $1.0 }
                        if best.count > 10 { best.removeLast() }
                    }
                }
            }
        }
        return best.map(\.1)
    }
}()
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

// Rebuild as a new lease epoch does without a snapshot: open every embedding, then build (on every core).
var options = IndexOptions.sealed
let rssBefore = rssKB()
t0 = now()
let opened = try sealed.indices.map { try Envelope.decodeVector(cipher.open(sealed[$0], context: context($0))) }
let decryptSeconds = now() - t0
var entries = opened.enumerated().map {
    IndexEntry(collection: collection, documentID: DocumentID(unchecked: "d\($0.offset)"), chunkIndex: 0, dataClass: dataClass, vector: $0.element)
}
t0 = now()
let cpu0 = cpuSeconds()
let index = VectorIndex(dimensions: dims, idfWeighting: false, options: options)
await index.replace(tenant: tenant, entries: entries, epoch: 1)
let buildSeconds = now() - t0
let buildCPU = cpuSeconds() - cpu0
entries = []
let estimate = await index.memoryBytes(tenant: tenant)
print(String(format: "rebuild_decrypt_seconds=%.3f build_seconds=%.2f build_cpu_seconds=%.2f", decryptSeconds, buildSeconds, buildCPU))
print("index_bytes_per_chunk=\(estimate / n) (estimate: codes, graph, ids, norms)")
print("rss_delta_per_chunk_bytes=\((rssKB() - rssBefore) * 1024 / n) (includes the decrypted vectors the build is handed)")

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
print(
    String(
        format: "startup_rebuild_seconds=%.2f startup_snapshot_seconds=%.2f (rebuild/snapshot %.1fx)", decryptSeconds + buildSeconds, loadSeconds,
        (decryptSeconds + buildSeconds) / max(loadSeconds, 1e-9)))

pinToFirstCore()
print("kernel,efSearch,recall@10,qps,p50_us,p99_us,cpu_us_per_query")
let encodedSub = sub.encoded()
for kernel in kernels {
    for ef in efs {
        options.efSearch = ef ?? IndexOptions.sealed.efSearch
        options.efSearchGrows = ef == nil
        options.kernel = kernel
        let variant = VectorIndex(dimensions: dims, idfWeighting: false, options: options)
        let decoded = try ClassIndex.decode(encodedSub, dimensions: dims, idfWeighting: false, options: options)
        await variant.replace(variant.beginBuild(tenant: tenant), loaded: [key: decoded], entries: [], epoch: 1)
        if ef == nil {
            // `auto` measures its width on the first questions (WidthEvidence): ask until it has decided, then time the
            // steady state. The warm-up's cost is printed on its own.
            let warmStart = now()
            let warmCPU = cpuSeconds()
            var asked = 0
            while asked < 20 * queries.count, await variant.subIndexes(tenant: tenant).values.first?.searchWidthEvidence?.isDecided != true {
                _ = try await variant.search(
                    tenant: tenant, collections: [collection], classes: [dataClass], query: queries[asked % queries.count], topK: 10, vectors: source)
                asked += 1
                if asked % 16 == 0 { try await Task.sleep(nanoseconds: 1_000_000) }
            }
            print(String(format: "# auto warm-up (%@): %d questions, %.2f s, %.2f CPU-s until the width was decided", kernel.rawValue, asked, now() - warmStart, cpuSeconds() - warmCPU))
            // A restart: the warmed sub-index sealed again (format SGCI 2) carries the measured width, so the first
            // questions after a load are searched at it; a snapshot without the counts (format 1, as written before)
            // starts the warm-up again at the ladder's widest. CPU of the first questions, measurements included.
            if let warmed = await variant.subIndexes(tenant: tenant).values.first?.encoded() {
                let first = min(300, queries.count)
                for (label, bytes) in [("counts not in the snapshot", encodedSub), ("counts in the snapshot", warmed)] {
                    let restarted = VectorIndex(dimensions: dims, idfWeighting: false, options: options)
                    let loaded = try ClassIndex.decode(bytes, dimensions: dims, idfWeighting: false, options: options)
                    await restarted.replace(restarted.beginBuild(tenant: tenant), loaded: [key: loaded], entries: [], epoch: 1)
                    let cpuStart = cpuSeconds()
                    for query in queries.prefix(first) {
                        _ = try await restarted.search(tenant: tenant, collections: [collection], classes: [dataClass], query: query, topK: 10, vectors: source)
                    }
                    try await Task.sleep(nanoseconds: 200_000_000)  // let a measurement still running finish (its CPU counts)
                    let width = await restarted.subIndexes(tenant: tenant).values.first?.searchWidthEvidence?.width
                    print(String(
                        format: "# restart, %@: first %d questions %.0f µs CPU each (measurements included); width then %@", label, first,
                        (cpuSeconds() - cpuStart - 0) / Double(first) * 1e6, width.map(String.init) ?? "undecided (warm-up: the ladder's widest)"))
                }
            }
        }
        var found = 0
        var latencies: [Double] = []
        let start = now()
        let cpuStart = cpuSeconds()
        for (q, query) in queries.enumerated() {
            let t = now()
            let hits = try await variant.search(tenant: tenant, collections: [collection], classes: [dataClass], query: query, topK: 10, vectors: source)
            latencies.append(now() - t)
            let got = Set(hits.compactMap { Int($0.documentID.rawValue.dropFirst()) })
            found += got.intersection(truth[q]).count
        }
        let cpu = cpuSeconds() - cpuStart
        let total = now() - start
        latencies.sort()
        let p50 = latencies[latencies.count / 2] * 1e6
        let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1e6
        let evidence = await variant.subIndexes(tenant: tenant).values.first?.searchWidthEvidence
        let label = ef.map(String.init) ?? "auto=\(evidence?.width.map(String.init) ?? "\(options.efSearch(nodes: n))")"
        if ef == nil, let evidence {
            let recalls = zip(evidence.widths, evidence.recalls).map { "\($0.0):" + String(format: "%.3f", $0.1) }.joined(separator: " ")
            print("# auto measured on the questions (share of the exact int8 candidates the graph found, per width; decayed counts): \(recalls)")
        }
        let row = label + String(
            format: ",%.4f,%.0f,%.0f,%.0f,%.0f", Double(found) / Double(queries.count * 10), Double(queries.count) / total, p50, p99,
            cpu / Double(queries.count) * 1e6)
        print("\(kernel.rawValue),\(row)")
    }
}
_ = reopened.count
