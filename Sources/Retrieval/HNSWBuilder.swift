import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A graph linked on several threads at once (the insertion of Malkov & Yashunin, run in parallel as hnswlib
/// runs it). Every node's link lists (all levels) have a spin lock, held while a list is copied for a search or
/// rewritten with a new link, and never together with another node's; the entry point and top level change under
/// one lock. The link storage is allocated for every node before any thread starts, so a link always names a
/// node with room for its lists. Levels are given (drawn in node order, as a serial build draws them); which
/// links a node keeps depends on the order threads reach nodes, so the graph differs from run to run.
final class ParallelGraphBuilder: @unchecked Sendable, LinkReader {
    let m: Int
    let m0: Int
    let count: Int
    let levels: [UInt8]
    private let base: UnsafeMutablePointer<Int32>
    private let upper: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    private let locks: UnsafeMutablePointer<Atomic<UInt32>>
    private let top = Mutex<Top>(Top(entry: -1, maxLevel: 0))
    private let next = Atomic<Int>(0)

    struct Top: Sendable {
        var entry: Int32
        var maxLevel: Int
    }

    init(m: Int, levels: [UInt8]) {
        self.m = m
        m0 = 2 * m
        count = levels.count
        self.levels = levels
        base = .allocate(capacity: max(1, levels.count * 2 * m))
        base.initialize(repeating: -1, count: max(1, levels.count * 2 * m))
        upper = .allocate(capacity: max(1, levels.count))
        locks = .allocate(capacity: max(1, levels.count))
        for (i, level) in levels.enumerated() {
            if level > 0 {
                let lists = UnsafeMutablePointer<Int32>.allocate(capacity: Int(level) * m)
                lists.initialize(repeating: -1, count: Int(level) * m)
                (upper + i).initialize(to: lists)
            } else {
                (upper + i).initialize(to: nil)
            }
            (locks + i).initialize(to: Atomic<UInt32>(0))
        }
    }

    deinit {
        for i in 0..<count { upper[i]?.deallocate() }
        upper.deallocate()
        base.deallocate()
        locks.deinitialize(count: count)
        locks.deallocate()
    }

    @inline(__always)
    private func lock(_ node: Int32) {
        var spins = 0
        while !locks[Int(node)].compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            spins += 1
            // The holder may have been preempted (other processes share the cores): let it run.
            if spins >= 64 {
                sched_yield()
                spins = 0
            }
        }
    }

    @inline(__always)
    private func unlock(_ node: Int32) { locks[Int(node)].store(0, ordering: .releasing) }

    @inline(__always)
    private func slots(_ node: Int32, level: Int) -> (UnsafeMutablePointer<Int32>, Int)? {
        if level == 0 { return (base + Int(node) * m0, m0) }
        guard level <= Int(levels[Int(node)]), let lists = upper[Int(node)] else { return nil }
        return (lists + (level - 1) * m, m)
    }

    var maxLinks: Int { m0 }

    func links(_ node: Int32, level: Int, into buffer: UnsafeMutablePointer<Int32>) -> Int {
        guard let (start, capacity) = slots(node, level: level) else { return 0 }
        lock(node)
        defer { unlock(node) }
        return copyLinks(start, capacity: capacity, into: buffer)
    }

    /// Rewrites a list (the caller holds the node's lock).
    private func write(_ links: [Int32], to start: UnsafeMutablePointer<Int32>, capacity: Int) {
        for i in 0..<capacity { start[i] = i < links.count ? links[i] : -1 }
    }

    /// Links `node` (its query prepared in `scorer`) into the graph.
    func insert(_ node: Int32, scorer: Scorer, visited: VisitedList, efConstruction: Int) {
        let level = Int(levels[Int(node)])
        let current = top.withLock { $0 }
        guard current.entry >= 0 else {
            top.withLock { $0 = Top(entry: node, maxLevel: level) }
            return
        }
        var entry = (score: scorer.score(current.entry), node: current.entry)
        if current.maxLevel > level {
            for l in stride(from: current.maxLevel, to: level, by: -1) { entry = ClassIndex.greedy(self, scorer, from: entry, level: l) }
        }
        for l in stride(from: min(level, current.maxLevel), through: 0, by: -1) {
            // Another thread may already have linked to this node and so led this search to it.
            let found = ClassIndex.searchLayer(self, scorer, from: entry, ef: efConstruction, level: l, visited: visited, nodes: count, live: nil)
                .filter { $0.node != node }
            let chosen = ClassIndex.select(found, max: m, scorer)
            setOwnLinks(node, level: l, chosen, scorer)
            for neighbour in chosen { connect(neighbour.node, to: node, score: neighbour.score, level: l, scorer) }
            if let best = found.first { entry = best }
        }
        if level > current.maxLevel {
            top.withLock { if level > $0.maxLevel { $0 = Top(entry: node, maxLevel: level) } }
        }
    }

    /// Sets a new node's links at `level`, keeping links other threads added to it meanwhile (pruned if too many).
    private func setOwnLinks(_ node: Int32, level: Int, _ chosen: [(score: Float, node: Int32)], _ scorer: Scorer) {
        guard let (start, capacity) = slots(node, level: level) else { return }
        lock(node)
        defer { unlock(node) }
        var pool = chosen
        var k = 0
        while k < capacity, start[k] >= 0 {
            let other = start[k]
            if other != node, !pool.contains(where: { $0.node == other }) { pool.append((scorer.score(node, other), other)) }
            k += 1
        }
        if pool.count > chosen.count { pool.sort { $0.score > $1.score } }
        write(ClassIndex.select(pool, max: capacity, scorer).map(\.node), to: start, capacity: capacity)
    }

    /// Adds the link `from → to` under `from`'s lock (see ``ClassIndex/linksAfterAdding(_:from:to:score:capacity:_:)``).
    private func connect(_ from: Int32, to: Int32, score: Float, level: Int, _ scorer: Scorer) {
        guard let (start, capacity) = slots(from, level: level) else { return }
        lock(from)
        defer { unlock(from) }
        var current: [Int32] = []
        current.reserveCapacity(capacity + 1)
        var k = 0
        while k < capacity, start[k] >= 0 {
            current.append(start[k])
            k += 1
        }
        if current.contains(to) { return }
        if current.count < capacity {
            start[current.count] = to
            return
        }
        write(ClassIndex.linksAfterAdding(current, from: from, to: to, score: score, capacity: capacity, scorer), to: start, capacity: capacity)
    }

    /// Inserts every node on `threads` threads (node 0 first, alone, as the entry point), then returns the graph.
    /// `prepare` writes a node's query for linking (`dimensions` floats) into its second argument.
    func run(
        threads: Int, dimensions: Int, efConstruction: Int, scorer template: Scorer,
        prepare: @escaping @Sendable (Int32, UnsafeMutablePointer<Float>) -> Void
    ) -> HNSWGraph {
        guard count > 0 else { return HNSWGraph(m: m) }
        next.store(0, ordering: .relaxed)
        let work: @Sendable (Int) -> Void = { worker in
            let visited = VisitedList()
            let query = UnsafeMutablePointer<Float>.allocate(capacity: max(1, dimensions))
            defer { query.deallocate() }
            // Node 0 is claimed by the first call alone (the others start once it returns).
            while true {
                let node = self.next.wrappingAdd(1, ordering: .relaxed).oldValue
                if node >= self.count { break }
                prepare(Int32(node), query)
                self.insert(Int32(node), scorer: template.with(query: query), visited: visited, efConstruction: efConstruction)
                if worker < 0 { break }
            }
        }
        work(-1)
        DispatchQueue.concurrentPerform(iterations: max(1, threads), execute: work)
        return graph()
    }

    /// The links as a ``HNSWGraph`` (copied out; the builder can then go).
    func graph() -> HNSWGraph {
        var g = HNSWGraph(m: m)
        g.levels = levels
        g.base = Array(UnsafeBufferPointer(start: base, count: count * m0))
        g.upper = (0..<count).map { i in
            guard levels[i] > 0, let lists = upper[i] else { return [] }
            return Array(UnsafeBufferPointer(start: lists, count: Int(levels[i]) * m))
        }
        let t = top.withLock { $0 }
        g.entry = t.entry
        g.maxLevel = t.maxLevel
        return g
    }
}

extension ClassIndex {
    /// A graph of every node, linked on `threads` threads with the given node levels.
    func linkInParallel(levels: [UInt8], threads: Int) -> HNSWGraph {
        let builder = ParallelGraphBuilder(m: options.m, levels: levels)
        let weights = buildWeights
        let me = self
        let dims = dimensions
        return withScorer(query: [Float](repeating: 0, count: dims), weights: weights) { template in
            builder.run(threads: threads, dimensions: dims, efConstruction: options.efConstruction, scorer: template) { node, query in
                let prepared = IDF.prepare(me.vectorForLinking(node), weights: weights) ?? [Float](repeating: 0, count: dims)
                for d in 0..<dims { query[d] = prepared[d] }
            }
        }
    }
}
