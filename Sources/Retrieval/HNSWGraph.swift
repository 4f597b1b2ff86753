import Synchronization

/// The links of a hierarchical navigable small-world graph (Malkov & Yashunin, 2016): level 0 holds every node
/// with up to `2m` links, level `l` the nodes drawn at level `l` or above with up to `m`. Links are node numbers
/// of the owning ``ClassIndex``; `-1` pads unused slots.
struct HNSWGraph: Sendable {
    let m: Int
    var m0: Int { 2 * m }
    var levels: [UInt8] = []
    /// Node `i`'s level-0 links: `base[i*m0 ..< (i+1)*m0]`.
    var base: [Int32] = []
    /// Node `i`'s links at levels 1...levels[i]: `upper[i][(l-1)*m ..< l*m]`.
    var upper: [[Int32]] = []
    var entry: Int32 = -1
    var maxLevel = 0

    init(m: Int) { self.m = m }

    var nodeCount: Int { levels.count }

    mutating func appendNode(level: Int) {
        levels.append(UInt8(level))
        base.append(contentsOf: repeatElement(-1, count: m0))
        upper.append(level > 0 ? [Int32](repeating: -1, count: level * m) : [])
    }

    /// The links of `node` at `level`, without padding.
    @inline(__always)
    func neighbours(_ node: Int32, level: Int) -> ArraySlice<Int32> {
        let slots: ArraySlice<Int32>
        if level == 0 {
            let start = Int(node) * m0
            slots = base[start..<(start + m0)]
        } else {
            let start = (level - 1) * m
            slots = upper[Int(node)][start..<(start + m)]
        }
        guard let end = slots.firstIndex(of: -1) else { return slots }
        return slots[slots.startIndex..<end]
    }

    mutating func setNeighbours(_ node: Int32, level: Int, _ links: [Int32]) {
        let capacity = level == 0 ? m0 : m
        for i in 0..<capacity {
            let value = i < links.count ? links[i] : -1
            if level == 0 { base[Int(node) * m0 + i] = value } else { upper[Int(node)][(level - 1) * m + i] = value }
        }
    }

    var memoryBytes: Int {
        levels.count + base.count * 4 + upper.count * 8 + upper.reduce(0) { $0 + ($1.isEmpty ? 0 : $1.count * 4 + 32) }
    }
}

/// Where a search reads links from: a built graph, or one being built on several threads (which copies a list
/// under its lock).
protocol LinkReader {
    /// The most links a node has at any level.
    var maxLinks: Int { get }
    /// Copies the links of `node` at `level` (without padding) into `buffer`, which holds ``maxLinks``; returns how many.
    func links(_ node: Int32, level: Int, into buffer: UnsafeMutablePointer<Int32>) -> Int
}

/// Copies links up to the first `-1` padding slot.
@inline(__always)
func copyLinks(_ source: UnsafePointer<Int32>, capacity: Int, into buffer: UnsafeMutablePointer<Int32>) -> Int {
    var k = 0
    while k < capacity {
        let link = source[k]
        if link < 0 { break }
        buffer[k] = link
        k += 1
    }
    return k
}

extension HNSWGraph: LinkReader {
    var maxLinks: Int { m0 }

    @inline(__always)
    func links(_ node: Int32, level: Int, into buffer: UnsafeMutablePointer<Int32>) -> Int {
        if level == 0 {
            return base.withUnsafeBufferPointer { all in
                guard let start = all.baseAddress else { return 0 }
                return copyLinks(start + Int(node) * m0, capacity: m0, into: buffer)
            }
        }
        return upper[Int(node)].withUnsafeBufferPointer { all in
            guard let start = all.baseAddress, all.count >= level * m else { return 0 }
            return copyLinks(start + (level - 1) * m, capacity: m, into: buffer)
        }
    }
}

/// Visit marks for one search at a time, reused across searches (no per-query allocation of `n` marks).
/// The marks live in manually allocated memory: a class's array property would pay a dynamic exclusivity check
/// on every access in the innermost loop.
final class VisitedList: @unchecked Sendable {
    private var marks = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private var capacity = 0
    private var generation: UInt32 = 0

    deinit { marks.deallocate() }

    func reset(count: Int) {
        if capacity < count {
            marks.deallocate()
            capacity = count + count / 4
            marks = .allocate(capacity: capacity)
            marks.initialize(repeating: 0, count: capacity)
            generation = 0
        }
        generation &+= 1
        if generation == 0 {
            marks.update(repeating: 0, count: capacity)
            generation = 1
        }
    }

    /// Marks `node`; `false` if it was already marked.
    @inline(__always)
    func visit(_ node: Int32) -> Bool {
        let slot = marks + Int(node)
        if slot.pointee == generation { return false }
        slot.pointee = generation
        return true
    }

    static let pool = Mutex<[VisitedList]>([])

    static func borrow(count: Int) -> VisitedList {
        let list = pool.withLock { $0.popLast() } ?? VisitedList()
        list.reset(count: count)
        return list
    }

    static func giveBack(_ list: VisitedList) {
        pool.withLock { if $0.count < 64 { $0.append(list) } }
    }
}

extension ClassIndex {
    /// Sub-indexes with fewer nodes than this are linked on one thread (starting threads would cost more).
    static let parallelBuildMinimum = 128

    /// Links every node into a new graph under the current weights: on ``IndexOptions/buildThreads`` threads
    /// (``ParallelGraphBuilder``) when there are enough nodes, else one by one. Node levels are drawn in node
    /// order from ``levels`` either way.
    mutating func buildGraph() {
        buildWeights = currentWeights()
        if idf { buildColumns() }
        let threads = options.resolvedBuildThreads
        guard threads > 1, nodeCount >= Self.parallelBuildMinimum else {
            graph = HNSWGraph(m: options.m)
            for node in 0..<nodeCount { link(Int32(node), vector: vectorForLinking(Int32(node))) }
            return
        }
        var drawn = [UInt8]()
        drawn.reserveCapacity(nodeCount)
        for _ in 0..<nodeCount { drawn.append(UInt8(levels.level(m: options.m))) }
        graph = linkInParallel(levels: drawn, threads: threads)
    }

    /// Adds `node` (already stored) to the graph.
    mutating func link(_ node: Int32, vector: [Float]) {
        guard var g = graph else { return }
        graph = nil  // the graph is mutated uniquely, not copied
        defer { graph = g }
        let level = levels.level(m: options.m)
        g.appendNode(level: level)
        guard g.entry >= 0 else {
            g.entry = node
            g.maxLevel = level
            return
        }
        let query = IDF.prepare(vector, weights: buildWeights) ?? [Float](repeating: 0, count: dimensions)
        let visited = VisitedList.borrow(count: nodeCount)
        defer { VisitedList.giveBack(visited) }
        withScorer(query: query, weights: buildWeights) { scorer in
            var entry = (score: scorer.score(g.entry), node: g.entry)
            if g.maxLevel > level {
                for l in stride(from: g.maxLevel, to: level, by: -1) { entry = Self.greedy(g, scorer, from: entry, level: l) }
            }
            for l in stride(from: min(level, g.maxLevel), through: 0, by: -1) {
                let found = Self.searchLayer(
                    g, scorer, from: entry, ef: options.efConstruction, level: l, visited: visited, nodes: nodeCount, live: nil)
                let chosen = Self.select(found, max: options.m, scorer)
                g.setNeighbours(node, level: l, chosen.map(\.node))
                for neighbour in chosen { Self.connect(&g, neighbour.node, to: node, score: neighbour.score, level: l, scorer) }
                if let best = found.first { entry = best }
            }
        }
        if level > g.maxLevel {
            g.maxLevel = level
            g.entry = node
        }
    }

    /// Adds the link `from → to`, pruning `from`'s links with the heuristic when they are full.
    static func connect(_ g: inout HNSWGraph, _ from: Int32, to: Int32, score: Float, level: Int, _ scorer: Scorer) {
        // A copy, not a slice: a slice would keep the link array shared and make the write below copy all of it.
        let current = Array(g.neighbours(from, level: level))
        g.setNeighbours(from, level: level, linksAfterAdding(current, from: from, to: to, score: score, capacity: level == 0 ? g.m0 : g.m, scorer))
    }

    /// `from`'s links with `to` added: appended while there is room, else the heuristic's choice among them all.
    static func linksAfterAdding(_ current: [Int32], from: Int32, to: Int32, score: Float, capacity: Int, _ scorer: Scorer) -> [Int32] {
        if current.contains(to) { return current }
        if current.count < capacity { return current + [to] }
        var pool = current.map { (score: scorer.score(from, $0), node: $0) }
        pool.append((score, to))
        pool.sort { $0.score > $1.score }
        return select(pool, max: capacity, scorer).map(\.node)
    }

    /// The neighbour-selection heuristic: keep a candidate only if it is closer to the base than to every
    /// candidate kept so far (spreads links across clusters). `candidates` are best first.
    static func select(_ candidates: [(score: Float, node: Int32)], max: Int, _ scorer: Scorer) -> [(score: Float, node: Int32)] {
        guard candidates.count > max else { return candidates }
        var kept: [(score: Float, node: Int32)] = []
        kept.reserveCapacity(max)
        for candidate in candidates {
            if kept.count >= max { break }
            if kept.allSatisfy({ scorer.score(candidate.node, $0.node) <= candidate.score }) { kept.append(candidate) }
        }
        return kept
    }
}
