extension ClassIndex {
    /// Greedy descent at one upper level.
    static func greedy<G: LinkReader>(_ g: G, _ scorer: Scorer, from start: (score: Float, node: Int32), level: Int) -> (score: Float, node: Int32) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: g.maxLinks) { buffer in
            guard let links = buffer.baseAddress else { return start }
            var current = start
            var moved = true
            while moved {
                moved = false
                let count = g.links(current.node, level: level, into: links)
                for i in 0..<count {
                    if i + 1 < count { scorer.prefetch(links[i + 1]) }
                    let s = scorer.score(links[i])
                    if s > current.score {
                        current = (s, links[i])
                        moved = true
                    }
                }
            }
            return current
        }
    }

    /// Best-first search of one level with a result set of `ef`, best first. With `live`, only live nodes become
    /// results (deleted ones are still walked through). The codes of the next unvisited neighbour are prefetched
    /// while the current one is scored (a graph walk is a chain of cache misses otherwise).
    static func searchLayer<G: LinkReader>(
        _ g: G, _ scorer: Scorer, from start: (score: Float, node: Int32), ef: Int, level: Int, visited: VisitedList, nodes: Int,
        live: UnsafePointer<Bool>?
    ) -> [(score: Float, node: Int32)] {
        visited.reset(count: nodes)
        _ = visited.visit(start.node)
        var frontier = ScoredHeap(highestFirst: true, capacity: ef * 2)
        var results = ScoredHeap(highestFirst: false, capacity: ef + 1)
        frontier.push(start.score, start.node)
        if live.map({ $0[Int(start.node)] }) ?? true { results.push(start.score, start.node) }
        var floor = results.count >= ef ? (results.top?.score ?? -.infinity) : -Float.infinity
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: g.maxLinks) { buffer in
            guard let links = buffer.baseAddress else { return }
            while let current = frontier.pop() {
                if results.count >= ef, current.score < floor { break }
                let count = g.links(current.node, level: level, into: links)
                var fresh = 0
                for i in 0..<count where visited.visit(links[i]) {
                    links[fresh] = links[i]
                    fresh += 1
                }
                if fresh > 0 { scorer.prefetch(links[0]) }
                for i in 0..<fresh {
                    let n = links[i]
                    if i + 1 < fresh { scorer.prefetch(links[i + 1]) }
                    let s = scorer.score(n)
                    guard results.count < ef || s > floor else { continue }
                    frontier.push(s, n)
                    if live.map({ $0[Int(n)] }) ?? true {
                        results.push(s, n)
                        if results.count > ef { results.pop() }
                    }
                    if results.count >= ef { floor = results.top?.score ?? -.infinity }
                }
            }
        }
        return results.items.sorted { $0.score > $1.score }
    }

    /// The `count` best live nodes by the graph (`ef` = max(`width` or ``searchWidth``, count)).
    func graphSearch(query: [Float], weights: [Float]?, count: Int, width: Int? = nil) -> [(score: Float, node: Int32)] {
        guard let g = graph, g.entry >= 0 else { return scan(query: query, weights: weights, count: count) }
        let visited = VisitedList.borrow(count: nodeCount)
        defer { VisitedList.giveBack(visited) }
        let found = withScorer(query: query, weights: weights) { scorer in
            var entry = (score: scorer.score(g.entry), node: g.entry)
            if g.maxLevel > 0 {
                for l in stride(from: g.maxLevel, to: 0, by: -1) { entry = Self.greedy(g, scorer, from: entry, level: l) }
            }
            return live.withUnsafeBufferPointer { alive in
                Self.searchLayer(
                    g, scorer, from: entry, ef: max(width ?? searchWidth, count), level: 0, visited: visited, nodes: nodeCount,
                    live: alive.baseAddress)
            }
        }
        return Array(found.prefix(count))
    }
}
