/// How the approximate index is built and searched. Defaults are from `Benchmarks/ann.sh` (docs/retrieval.md).
public struct IndexOptions: Sendable, Equatable {
    /// Graph links per node above level 0 (level 0 keeps twice as many).
    public var m: Int
    /// Candidates examined while linking a new node.
    public var efConstruction: Int
    /// Candidates examined per query at level 0 (at least the rescoring count). With ``efSearchGrows`` this is the
    /// value for graphs up to ``efSearchPivot`` nodes; larger graphs search wider (``efSearch(nodes:)``).
    public var efSearch: Int
    /// Graphs up to this many nodes search ``efSearch`` wide even when it grows (default 131,072).
    public var efSearchPivot: Int
    /// Whether a search widens with the graph's size (the gateway's `retrieval.ef_search: auto`): at a fixed width
    /// recall falls as a graph grows — on the benchmark's clustered vectors efSearch 64 gives recall@10 ≥ 0.99 up to
    /// 200 k nodes but 0.889 at 1 M, where 128 gives 0.964 (docs/benchmarks.md).
    public var efSearchGrows: Bool
    /// Sub-indexes with fewer live chunks than this are scanned in full (no graph is kept for them).
    public var bruteForceBelow: Int
    /// Candidates rescored from full-precision vectors: `max(topK × rescoreFactor, rescoreMinimum)`.
    public var rescoreFactor: Int
    public var rescoreMinimum: Int
    /// Whether full-precision vectors stay in memory (exact rescoring without a vector source). When `false`,
    /// only int8 codes and the graph are held and a search rescores through the caller's vector source.
    public var keepsFullPrecision: Bool
    /// Seed of the node levels: the same insertions in the same order draw the same levels (and, built on one
    /// thread, the same graph).
    public var seed: UInt64
    /// The distance kernels (``SimilarityKernel/selected`` unless a benchmark or test asks for another that runs here).
    public var kernel: SimilarityKernel
    /// Threads that link a graph built in one go (a bulk load, a compaction): 0 for every online core, 1 for the
    /// deterministic serial build. Nodes added one at a time are linked on the caller's thread.
    public var buildThreads: Int

    /// Creates options; see each property.
    public init(
        m: Int = 16, efConstruction: Int = 100, efSearch: Int = 64, efSearchGrows: Bool = true, efSearchPivot: Int = 131_072,
        bruteForceBelow: Int = 2048, rescoreFactor: Int = 2, rescoreMinimum: Int = 10, keepsFullPrecision: Bool = true, seed: UInt64 = 0x5EA1_6A7E,
        kernel: SimilarityKernel = .selected, buildThreads: Int = 0
    ) {
        self.m = max(4, min(64, m))
        self.efConstruction = max(8, efConstruction)
        self.efSearch = max(1, min(Self.efSearchLimit, efSearch))
        self.efSearchGrows = efSearchGrows
        self.efSearchPivot = max(1, efSearchPivot)
        self.bruteForceBelow = max(0, bruteForceBelow)
        self.rescoreFactor = max(1, rescoreFactor)
        self.rescoreMinimum = max(1, rescoreMinimum)
        self.keepsFullPrecision = keepsFullPrecision
        self.seed = seed
        self.kernel = kernel.runsHere ? kernel : .selected
        self.buildThreads = max(0, buildThreads)
    }

    /// Full-precision vectors in memory (tools, tests, small deployments): exact rescoring, no vector source.
    public static let inMemory = IndexOptions(rescoreFactor: 4, rescoreMinimum: 40, keepsFullPrecision: true)

    /// The gateway's form: int8 codes and the graph in memory, full-precision vectors opened from the sealed
    /// store for the candidates only (see docs/retrieval.md).
    public static let sealed = IndexOptions(keepsFullPrecision: false)

    /// These options for an IDF-weighted sub-index (the built-in hashing embedder's sparse hashed features): at least
    /// 32 links per node (64 at level 0), linked 200 wide, and with ``efSearchGrows`` a search at least
    /// ``idfSearchFloor`` wide. Hashed word and trigram features are a hard space for a graph — near neighbours share
    /// a few terms among hundreds — so the dense defaults lose a tenth of the exact top 10 there (recall@10 0.89 on
    /// man pages at 10 k chunks); see docs/retrieval.md. A fixed width (`ef_search: N`) is kept as configured.
    public var forIDFWeighting: IndexOptions {
        var options = self
        options.m = max(m, 32)
        options.efConstruction = max(efConstruction, 200)
        if efSearchGrows { options.efSearch = max(efSearch, Self.idfSearchFloor) }
        return options
    }

    /// The least `auto` search width of an IDF-weighted sub-index (``forIDFWeighting``).
    public static let idfSearchFloor = 128

    /// The widest search (a larger configured or grown width is clamped to it).
    public static let efSearchLimit = 4_096

    /// The level-0 search width for a graph of `nodes` nodes: ``efSearch``, or with ``efSearchGrows`` and more than
    /// ``efSearchPivot`` nodes, ``efSearch`` × √(nodes / pivot) rounded up (by default 64 → 91 at 262 k, 177 at 1 M,
    /// 354 at 4 M), at most ``efSearchLimit``. The square root is what the measurements support: the width for a fixed
    /// recall grows with the graph, but far slower than the graph (see docs/retrieval.md).
    public func efSearch(nodes: Int) -> Int {
        guard efSearchGrows, nodes > efSearchPivot else { return efSearch }
        let grown = (Double(efSearch) * (Double(nodes) / Double(efSearchPivot)).squareRoot()).rounded(.up)
        return Int(min(Double(Self.efSearchLimit), max(Double(efSearch), grown)))
    }

    /// ``buildThreads`` with 0 resolved to the online cores (at most 64).
    var resolvedBuildThreads: Int {
        if buildThreads > 0 { return buildThreads }
        return max(1, min(64, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }

    /// How many candidates a search of `topK` rescoring.
    func rescoreCount(_ topK: Int) -> Int { max(max(1, topK) * rescoreFactor, rescoreMinimum) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
