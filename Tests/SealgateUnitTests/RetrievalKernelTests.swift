import Foundation
import Retrieval
import SealgateCore
import SealgateTestSupport
import Testing

/// Issue #17: the dispatched AVX2 / AVX-512 distance kernels agree with the portable one, and a graph linked on
/// several threads finds what the serial one finds.
@Suite("Retrieval kernels and parallel graph construction")
struct RetrievalKernelTests {
    static let lengths = Array(0...70) + [95, 127, 128, 129, 255, 383, 384, 385, 768, 1000]

    static func data(_ n: Int, seed: UInt64) -> (q: [Float], w: [Float], a: [Int8], b: [Int8]) {
        var g = SplitMix64(seed: seed)
        return (
            (0..<n).map { _ in Float.random(in: -1...1, using: &g) }, (0..<n).map { _ in Float.random(in: 0.5...9, using: &g) },
            (0..<n).map { _ in Int8.random(in: -127...127, using: &g) }, (0..<n).map { _ in Int8.random(in: -127...127, using: &g) }
        )
    }

    /// Agreement within float rounding of a sum of `n` terms whose magnitudes add up to `scale`.
    static func close(_ x: Float, _ y: Float, scale: Float) -> Bool { abs(x - y) <= 1e-5 * max(1, scale) }

    @Test("Every kernel that runs on this CPU gives the portable kernel's results, on random data and edge lengths")
    func kernelsAgree() throws {
        let kernels = SimilarityKernel.allCases.filter(\.runsHere)
        #expect(kernels.contains(.portable))
        for n in Self.lengths {
            let (q, w, a, b) = Self.data(n, seed: UInt64(n) &+ 0xC0DE)
            let dotScale = zip(q, a).reduce(Float(0)) { $0 + abs($1.0 * Float($1.1)) }
            let normScale = zip(w, a).reduce(Float(0)) { $0 + $1.0 * Float($1.1) * Float($1.1) }
            let bScale = zip(w, b).reduce(Float(0)) { $0 + $1.0 * Float($1.1) * Float($1.1) }
            var exactDot: Int32 = 0
            for d in 0..<n { exactDot += Int32(a[d]) * Int32(b[d]) }
            let dot = try #require(SimilarityKernel.portable.dot(query: q, codes: a))
            let dn = try #require(SimilarityKernel.portable.dotAndNorm(query: q, weights: w, codes: a))
            let cp = try #require(SimilarityKernel.portable.codeProducts(a, b, weights: w))
            #expect(SimilarityKernel.portable.codeDot(a, b) == exactDot)
            for kernel in kernels where kernel != .portable {
                let kd = try #require(kernel.dot(query: q, codes: a))
                #expect(Self.close(kd, dot, scale: dotScale), "\(kernel) dot n=\(n): \(kd) vs \(dot)")
                let kdn = try #require(kernel.dotAndNorm(query: q, weights: w, codes: a))
                #expect(Self.close(kdn.dot, dn.dot, scale: dotScale) && Self.close(kdn.norm, dn.norm, scale: normScale), "\(kernel) dotAndNorm n=\(n)")
                let kcp = try #require(kernel.codeProducts(a, b, weights: w))
                #expect(
                    Self.close(kcp.ab, cp.ab, scale: (normScale * bScale).squareRoot()) && Self.close(kcp.aa, cp.aa, scale: normScale)
                        && Self.close(kcp.bb, cp.bb, scale: bScale), "\(kernel) codeProducts n=\(n)")
                #expect(kernel.codeDot(a, b) == exactDot, "\(kernel) codeDot n=\(n)")
            }
        }
        // Mismatched lengths are refused, not read past.
        #expect(SimilarityKernel.selected.dot(query: [1, 2], codes: [1]) == nil)
    }

    @Test("Column scores: every kernel gives, for every node of a dimension-major layout, Σ values·codes on the chosen dimensions")
    func columnScores() throws {
        let lanes = 256
        for (dims, nodes, k) in [(1, 256, 1), (7, 300, 3), (64, 700, 64), (1024, 512, 96), (384, 256, 0)] {
            var g = SplitMix64(seed: UInt64(dims * 1000 + nodes))
            let rows = (0..<nodes).map { _ in (0..<dims).map { _ in Int8.random(in: -127...127, using: &g) } }
            let blocks = (nodes + lanes - 1) / lanes
            // The documented layout: node b·256 + l's dimension d at (b·dims + d)·256 + l; unused lanes zero.
            var columns = [Int8](repeating: 0, count: blocks * dims * lanes)
            for (node, row) in rows.enumerated() {
                for d in 0..<dims { columns[((node / lanes) * dims + d) * lanes + node % lanes] = row[d] }
            }
            let selected = (0..<k).map { _ in Int32.random(in: 0..<Int32(dims), using: &g) }
            let values = (0..<k).map { _ in Float.random(in: -2...2, using: &g) }
            for kernel in SimilarityKernel.allCases.filter(\.runsHere) {
                let scores = try #require(kernel.columnScores(codes: columns, dimensions: dims, selected: selected, values: values))
                #expect(scores.count == blocks * lanes)
                for node in 0..<(blocks * lanes) {
                    let row = node < nodes ? rows[node] : [Int8](repeating: 0, count: dims)
                    var want: Float = 0
                    var scale: Float = 0
                    for j in 0..<k {
                        want += values[j] * Float(row[Int(selected[j])])
                        scale += abs(values[j] * Float(row[Int(selected[j])]))
                    }
                    #expect(Self.close(scores[node], want, scale: scale), "\(kernel) dims=\(dims) node=\(node): \(scores[node]) vs \(want)")
                }
            }
        }
        // A layout that is not whole blocks, or a dimension out of range, is refused, not read past.
        #expect(SimilarityKernel.portable.columnScores(codes: [Int8](repeating: 0, count: 100), dimensions: 4, selected: [0], values: [1]) == nil)
        #expect(SimilarityKernel.portable.columnScores(codes: [Int8](repeating: 0, count: 1024), dimensions: 4, selected: [4], values: [1]) == nil)
    }

    @Test("The kernel is chosen from the CPU's features; this machine's AVX2 is used when /proc/cpuinfo lists it")
    func selection() throws {
        #expect(SimilarityKernel.select(isX86_64: false, avx2FMA: true, avx512: true) == .portable)
        #expect(SimilarityKernel.select(isX86_64: true, avx2FMA: false, avx512: false) == .portable)
        #expect(SimilarityKernel.select(isX86_64: true, avx2FMA: true, avx512: false) == .avx2)
        #expect(SimilarityKernel.select(isX86_64: true, avx2FMA: true, avx512: true) == .avx512)
        #expect(SimilarityKernel.select(isX86_64: true, avx2FMA: false, avx512: true) == .portable)
        #expect(SimilarityKernel.selected.runsHere)
        // Options never carry a kernel this CPU cannot run.
        for kernel in SimilarityKernel.allCases { #expect(IndexOptions(kernel: kernel).kernel.runsHere) }
        #if arch(x86_64) && os(Linux)
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        if flags.contains("avx2") && flags.contains("fma") { #expect(SimilarityKernel.selected != .portable) }
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx2", "fma"]) { #expect(SimilarityKernel.selected == .avx512) }
        #endif
    }

    /// Recall@10 against exact search, and the share of stored vectors found first when searched for themselves.
    static func quality(options: IndexOptions, vectors: [[Float]], queries: [[Float]], dims: Int) async -> (recall: Double, selfFound: Double) {
        let ann = VectorIndex(dimensions: dims, idfWeighting: false, options: options)
        let exact = ANNTests.exactIndex(dims: dims, idf: false)
        await ann.replace(tenant: ANNTests.tenant, entries: ANNTests.entries(vectors), epoch: 1)
        await exact.replace(tenant: ANNTests.tenant, entries: ANNTests.entries(vectors), epoch: 1)
        let recall = await ANNTests.recall(approximate: ann, exact: exact, queries: queries, collections: ["c"], classes: ["internal"])
        var found = 0
        for (i, v) in vectors.enumerated() where i % 5 == 0 {
            let hit = await ann.search(tenant: ANNTests.tenant, collections: [CollectionName(unchecked: "c")], classes: [DataClass(unchecked: "internal")], query: v, topK: 1)
            if hit.first?.documentID.rawValue == "d\(i)" { found += 1 }
        }
        return (recall, Double(found) / Double((vectors.count + 4) / 5))
    }

    @Test("A graph linked on four threads reaches recall@10 ≥ 0.95 and finds its own vectors, as the serial build does")
    func parallelBuild() async {
        let dims = 24
        let vectors = ANNTests.clustered(count: 6000, dims: dims, clusters: 40, seed: 23)
        let queries = ANNTests.clustered(count: 40, dims: dims, clusters: 40, seed: 77)
        for kernel in [SimilarityKernel.selected, .portable] {
            var options = IndexOptions(m: 12, efConstruction: 64, efSearch: 96, bruteForceBelow: 256, rescoreFactor: 4, rescoreMinimum: 40, kernel: kernel)
            options.buildThreads = 1
            let serial = await Self.quality(options: options, vectors: vectors, queries: queries, dims: dims)
            options.buildThreads = 4
            let parallel = await Self.quality(options: options, vectors: vectors, queries: queries, dims: dims)
            #expect(serial.recall >= 0.95 && parallel.recall >= 0.95, "\(kernel): recall serial \(serial.recall), parallel \(parallel.recall)")
            #expect(serial.selfFound >= 0.99 && parallel.selfFound >= 0.99, "\(kernel): self found serial \(serial.selfFound), parallel \(parallel.selfFound)")
        }
    }
}
