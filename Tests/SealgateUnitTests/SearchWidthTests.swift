import Retrieval
import SealgateConfig
import SealgateCore
import SealgateTestSupport
import Testing

/// Issue #17: the approximate index keeps its recall as a tenant's index grows — `retrieval.ef_search: auto` widens
/// the search with the graph (64 up to 131,072 nodes, then × √(nodes / 131,072)); a number fixes it.
@Suite("Approximate index: search width fixed or growing with the graph (retrieval.ef_search)")
struct SearchWidthTests {
    @Test("The width rule: fixed ignores size; auto keeps the base up to the pivot, then grows with √size, bounded")
    func rule() {
        let fixed = IndexOptions(efSearch: 64, efSearchGrows: false)
        #expect([0, 131_072, 1_000_000, 50_000_000].map(fixed.efSearch(nodes:)) == [64, 64, 64, 64])
        let auto = IndexOptions(efSearch: 64)
        #expect(auto.efSearchGrows && auto.efSearchPivot == 131_072)
        #expect(auto.efSearch(nodes: 10_000) == 64 && auto.efSearch(nodes: 131_072) == 64)
        #expect(auto.efSearch(nodes: 4 * 131_072) == 128)
        // 1 M: at least the 128 that gave recall@10 0.964 on the benchmark's clustered vectors (docs/benchmarks.md).
        #expect(auto.efSearch(nodes: 1_000_000) == 177)
        #expect(auto.efSearch(nodes: Int(Int32.max)) == IndexOptions.efSearchLimit)
        var last = 0
        for nodes in stride(from: 0, through: 20_000_000, by: 97_001) {
            let width = auto.efSearch(nodes: nodes)
            #expect(width >= last && width >= 64 && width <= IndexOptions.efSearchLimit)
            last = width
        }
        #expect(IndexOptions(efSearch: 1_000_000).efSearch == IndexOptions.efSearchLimit)
    }

    @Test("A graph above the pivot is searched wider: recall@10 rises to ≥ 0.95 where the fixed width misses neighbours")
    func widerSearchFindsMore() async {
        let dims = 16
        let vectors = ANNTests.clustered(count: 6_000, dims: dims, clusters: 60, seed: 23)
        let queries = ANNTests.clustered(count: 60, dims: dims, clusters: 60, seed: 77)
        // One link thread: the same graph every run. The best 20 candidates are rescored exactly (max(2 · 10, 10)), so
        // the fixed width is 20 and the grown one 10 × √(6,000 / 24) = 159.
        func index(grows: Bool) async -> VectorIndex {
            let options = IndexOptions(
                m: 8, efConstruction: 32, efSearch: 10, efSearchGrows: grows, efSearchPivot: 24, bruteForceBelow: 256, rescoreFactor: 2,
                rescoreMinimum: 10, buildThreads: 1)
            #expect(options.efSearch(nodes: vectors.count) == (grows ? 159 : 10))
            let ann = VectorIndex(dimensions: dims, idfWeighting: false, options: options)
            await ann.replace(tenant: ANNTests.tenant, entries: ANNTests.entries(vectors), epoch: 1)
            return ann
        }
        let exact = ANNTests.exactIndex(dims: dims, idf: false)
        await exact.replace(tenant: ANNTests.tenant, entries: ANNTests.entries(vectors), epoch: 1)
        let narrow = await ANNTests.recall(approximate: index(grows: false), exact: exact, queries: queries, collections: ["c"], classes: ["internal"])
        let wide = await ANNTests.recall(approximate: index(grows: true), exact: exact, queries: queries, collections: ["c"], classes: ["internal"])
        #expect(wide >= 0.95, "recall@10 with the grown width = \(wide)")
        #expect(wide > narrow, "grown \(wide) against fixed \(narrow)")
    }

    @Test("retrieval.ef_search: auto by default, a number between 10 and 4096, nothing else")
    func configuration() throws {
        let profiles: Set<String> = ["none", "basic", "all"]
        #expect(try ConfigLoader.parse("{}", knownRedactionProfiles: profiles).retrieval.efSearch == .auto)
        #expect(try ConfigLoader.parse("retrieval:\n  ef_search: auto\n", knownRedactionProfiles: profiles).retrieval.efSearch == .auto)
        #expect(try ConfigLoader.parse("retrieval:\n  ef_search: 200\n", knownRedactionProfiles: profiles).retrieval.efSearch == .fixed(200))
        for bad in ["9", "0", "-5", "4097"] {
            #expect(configIssuePaths("retrieval:\n  ef_search: \(bad)\n") == ["retrieval.ef_search"], "\(bad)")
        }
        for bad in ["wide", "12.5", "[64]", "Auto"] {
            let paths = configIssuePaths("retrieval:\n  ef_search: \(bad)\n")
            #expect(paths.count == 1 && paths.first?.hasPrefix("retrieval.ef_search") == true, "\(bad): \(paths)")
        }
    }
}
